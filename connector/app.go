package connector

import (
	"slices"
	"strings"
)

// AppDest is the destination keys every business-app destination shares
// (http, hubspot): what a change sends, what a NULL means, and what mirror
// does with a record whose key left the source. Connectors embed it
// (yaml:",inline") and say which values they take (AppRules).
type AppDest struct {
	Patch    string `yaml:"patch" doc:"what a changed row sends: all (every mapped field) or changed (only the fields that changed, plus what identifies the record)"`
	Nulls    string `yaml:"nulls" doc:"what a NULL sends: send (a JSON null), skip (left out: the destination keeps its value) or clear (the destination's own way to empty a field)"`
	OnDelete string `yaml:"on_delete" doc:"mode mirror, a key gone from the source: delete the record, archive it, clear (empty every mapped field but what identifies it) or ignore (leave it, and forget the key)"`
}

// The values of AppDest's keys.
const (
	PatchAll     = "all"
	PatchChanged = "changed"

	NullsSend  = "send"
	NullsSkip  = "skip"
	NullsClear = "clear"

	DeleteDelete  = "delete"
	DeleteArchive = "archive"
	DeleteClear   = "clear"
	DeleteIgnore  = "ignore"
)

// AppRules is what one destination type takes of AppDest: the values each
// key may have (the first is its default), and why a value it refuses
// cannot be (keyed "nulls=send").
type AppRules struct {
	Patch, Nulls, OnDelete []string
	Why                    map[string]string
}

// Validate reports AppDest values the rules refuse, and on_delete outside
// mode mirror (only mirror deletes) as a warning.
func (a *AppDest) Validate(d Dest, p Problems, r AppRules) {
	check := func(field, v string, allowed []string) {
		if v == "" || slices.Contains(allowed, v) {
			return
		}
		if why := r.Why[field+"="+v]; why != "" {
			p.Add(field, "%s", why)
			return
		}
		p.Add(field, "%s %q is not one of %s", field, v, strings.Join(allowed, ", "))
	}
	check("patch", a.Patch, r.Patch)
	check("nulls", a.Nulls, r.Nulls)
	check("on_delete", a.OnDelete, r.OnDelete)
	if a.OnDelete != "" && d.Mode != "" && d.Mode != "mirror" {
		Warn(p, "on_delete", "only mode mirror deletes; mode %s never uses on_delete", d.Mode)
	}
}

// Resolved returns a with every unset key at its default under r.
func (a AppDest) Resolved(r AppRules) AppDest {
	if a.Patch == "" && len(r.Patch) > 0 {
		a.Patch = r.Patch[0]
	}
	if a.Nulls == "" && len(r.Nulls) > 0 {
		a.Nulls = r.Nulls[0]
	}
	if a.OnDelete == "" && len(r.OnDelete) > 0 {
		a.OnDelete = r.OnDelete[0]
	}
	return a
}
