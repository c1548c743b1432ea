package spec

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"text/template"
)

// MaxConcurrency bounds every concurrency knob: past it a typo (an extra few
// zeros) would start millions of loaders instead of failing here.
const MaxConcurrency = 1024

// HTTPOperations are the operations an http destination can declare.
var HTTPOperations = []string{"upsert", "insert", "update", "delete"}

// TemplateFuncs names the functions an http operation's path and body
// templates may call. load supplies them; its tests keep the two in step.
var TemplateFuncs = []string{"json"}

// httpModeNeeds lists, per mode, the operations an http destination must
// declare; each entry is a set of alternatives (load/http.go picks them the
// same way).
var httpModeNeeds = map[string][][]string{
	ModeInsert: {{"insert", "upsert"}},
	ModeUpdate: {{"update"}},
	ModeUpsert: {{"upsert"}},
	ModeMirror: {{"upsert"}, {"delete"}},
	ModeAppend: {{"insert", "upsert"}},
}

// CheckTemplate parses an http operation's path or body template as the
// destination will, so a broken one fails validate rather than the first batch.
func CheckTemplate(text string) error {
	funcs := template.FuncMap{}
	for _, n := range TemplateFuncs {
		funcs[n] = func(...any) (string, error) { return "", nil }
	}
	_, err := template.New("").Funcs(funcs).Parse(text)
	return err
}

func validateHTTPDest(dst *Dest, p string, bad func(string, string, ...any)) {
	if len(dst.Operations) == 0 {
		bad(p+".operations", "an http destination needs operations (upsert, insert, update, delete)")
		return
	}
	names := make([]string, 0, len(dst.Operations))
	for op := range dst.Operations {
		names = append(names, op)
	}
	sort.Strings(names)
	for _, op := range names {
		o := dst.Operations[op]
		q := p + ".operations." + op
		if !contains(HTTPOperations, op) {
			bad(q, "unknown operation %q (want upsert, insert, update or delete)", op)
		}
		if o == nil || o.Path == "" {
			bad(q+".path", "path is required")
			continue
		}
		if err := CheckTemplate(o.Path); err != nil {
			bad(q+".path", "invalid template: %s", templateErr(err))
		}
		if o.Body != "" {
			if err := CheckTemplate(o.Body); err != nil {
				bad(q+".body", "invalid template: %s", templateErr(err))
			}
		}
	}
	if dst.Mode == ModeReplace {
		bad(p+".mode", "mode replace cannot be done atomically through an API; use upsert or mirror")
	}
	for _, alts := range httpModeNeeds[dst.Mode] {
		found := false
		for _, a := range alts {
			if dst.Operations[a] != nil {
				found = true
			}
		}
		if !found {
			bad(p+".operations", "mode %s needs operations.%s", dst.Mode, strings.Join(alts, " or operations."))
		}
	}
}

// templateErr drops text/template's `template: :1:` prefix, which names
// neither file nor field; the problem's location does.
func templateErr(err error) string {
	s := strings.TrimPrefix(err.Error(), "template: ")
	if i := strings.Index(s, ": "); i >= 0 && strings.HasPrefix(s, ":") {
		s = s[i+2:]
	}
	return s
}

func validatePrimaryKey(pk []string, p string, bad func(string, string, ...any)) {
	seen := map[string]bool{}
	for i, k := range pk {
		q := fmt.Sprintf("%s[%d]", p, i)
		switch {
		case k == "":
			bad(q, "primary key column is empty")
		case seen[k]:
			bad(q, "column %q is in the primary key twice", k)
		}
		seen[k] = true
	}
}

// sharedObjects warns about syncs that write one destination object: each
// diffs against its own snapshot, so they overwrite each other's rows, and a
// mirror or replace deletes the other's.
func (f *File) sharedObjects() []*Problem {
	var warns []*Problem
	first := map[string]*Sync{}
	for _, s := range f.Syncs {
		if s == nil {
			continue
		}
		key, ok := f.objectKey(&s.Destination)
		if !ok {
			continue
		}
		if o := first[key]; o != nil {
			field := s.Field() + ".destination.object"
			warns = append(warns, f.Problem(field,
				"sync %q writes the same object as sync %q (%s): each diffs against its own snapshot, so they overwrite each other's rows (and mirror or replace delete them)",
				s.Name, o.Name, o.Field()))
			continue
		}
		first[key] = s
	}
	return warns
}

// objectKey names what a destination writes, the same for two spellings
// of one object.
func (f *File) objectKey(d *Dest) (string, bool) {
	c := f.Connections[d.Connection]
	if c == nil || d.Object == "" {
		return "", false
	}
	obj := d.Object
	switch c.Type {
	case TypeFiles:
		format := d.Format
		if format == "" {
			format = c.Format
		}
		obj = filepath.Clean(obj)
		if filepath.Ext(obj) == "" && format != "" {
			obj += "." + format
		}
	case TypePostgres, TypeSQLite:
		// Unquoted SQL names are case-insensitive.
		obj = strings.ToLower(obj)
	}
	return d.Connection + "\x00" + obj, true
}
