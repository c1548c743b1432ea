package spec

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hoist-dev/hoist/connector"
)

var modes = []string{ModeInsert, ModeUpdate, ModeUpsert, ModeMirror, ModeAppend, ModeReplace}

// Modes lists every mode, in the order the reference gives them.
func Modes() []string { return slices.Clone(modes) }

// Validate checks references, modes and types, returning every problem joined.
func (f *File) Validate() error {
	var probs []error
	bad := func(field, format string, args ...any) {
		if !f.skipped(field) {
			probs = append(probs, f.Problem(field, format, args...))
		}
	}
	if f.Version != 1 {
		bad("version", "version must be 1 (got %d)", f.Version)
	}
	if !strings.HasPrefix(f.State, "file://") && !strings.HasPrefix(f.State, "postgres://") && !strings.HasPrefix(f.State, "postgresql://") {
		bad("state", "state must be file://PATH or postgres://URL")
	}
	names := make([]string, 0, len(f.Connections))
	for n := range f.Connections {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if c := f.Connections[n]; c != nil {
			f.validateConnection(c, bad)
		}
	}
	if len(f.Syncs) == 0 {
		bad("syncs", "no syncs defined")
	}
	var warns []*Problem
	warn := func(field, format string, args ...any) {
		if !f.skipped(field) {
			warns = append(warns, f.Problem(field, format, args...))
		}
	}
	seen := map[string]bool{}
	for _, s := range f.Syncs {
		if s == nil {
			continue
		}
		p := fmt.Sprintf("syncs[%d]", s.Index)
		if s.Name == "" {
			bad(p+".name", "name is required")
		} else if seen[s.Name] {
			bad(p+".name", "duplicate sync name %q", s.Name)
		}
		seen[s.Name] = true
		f.validateSync(s, p, bad, warn)
	}
	f.validateAfter(bad)
	f.Warnings = append(warns, f.sharedObjects()...)
	return errors.Join(probs...)
}

func (f *File) validateConnection(c *Connection, bad func(string, string, ...any)) {
	p := "connections." + c.Name
	if c.Config == nil {
		bad(p+".type", "unknown connection type %q (want %s)", c.Type, connector.List(connector.Types()))
		return
	}
	c.Config.Validate(problems{prefix: p, bad: bad})
}

func (f *File) validateSync(s *Sync, p string, bad, warn func(string, string, ...any)) {
	src, dst := s.Source, s.Destination
	sc, scDefined := f.Connections[src.Connection]
	switch {
	case src.Connection == "":
		bad(p+".source.connection", "connection is required")
	case scDefined && sc == nil:
		// reported where the connection is defined
	case sc == nil:
		bad(p+".source.connection", "unknown connection %q%s", src.Connection, f.knownConnections())
	case sc.Config == nil:
		// an unknown type: reported where the connection is defined
	case src.Config == nil:
		bad(p+".source.connection", "a %s connection cannot be a source", sc.Type)
	default:
		src.Config.Validate(sc.Config, problems{prefix: p + ".source", bad: bad})
	}
	dc, dcDefined := f.Connections[dst.Connection]
	var role *connector.DestRole
	switch {
	case dst.Connection == "":
		bad(p+".destination.connection", "connection is required")
	case dcDefined && dc == nil:
		// reported where the connection is defined
	case dc == nil:
		bad(p+".destination.connection", "unknown connection %q%s", dst.Connection, f.knownConnections())
	case dc.Config == nil:
		// an unknown type: reported where the connection is defined
	case dst.Config == nil:
		bad(p+".destination.connection", "a %s connection can only be a source", dc.Type)
	default:
		role = f.connectorOf(dst.Connection).Dest
		dst.Config.Validate(connector.Dest{Conn: dc.Config, Object: dst.Object, Mode: dst.Mode, PrimaryKey: dst.PrimaryKey},
			problems{prefix: p + ".destination", bad: bad, warn: warn})
		if dst.Object == "" && !role.ObjectOptional {
			bad(p+".destination.object", "object is required")
		}
		if contains(modes, dst.Mode) && !contains(role.Modes, dst.Mode) {
			if why := role.Why[dst.Mode]; why != "" {
				bad(p+".destination.mode", "%s", why)
			} else {
				bad(p+".destination.mode", "a %s destination cannot write mode %s (it writes %s)", dc.Type, dst.Mode, connector.List(role.Modes))
			}
		}
	}
	switch {
	case dst.Mode == "":
		bad(p+".destination.mode", "mode is required (%s)", strings.Join(modes, ", "))
	case !contains(modes, dst.Mode):
		bad(p+".destination.mode", "unknown mode %q (want %s)", dst.Mode, strings.Join(modes, ", "))
	case KeyNeeded(dst.Mode) && len(dst.PrimaryKey) == 0:
		bad(p+".destination.primary_key", "mode %s needs a primary_key", dst.Mode)
	}
	validatePrimaryKey(dst.PrimaryKey, p+".destination.primary_key", bad)
	if dst.Mode == ModeMirror && src.Cursor != "" {
		bad(p+".source.cursor", "mode mirror cannot use a cursor: it must read the whole source to find deletes")
	}
	if src.CursorLookback != "" {
		switch {
		case src.Cursor == "":
			bad(p+".source.cursor_lookback", "cursor_lookback needs a cursor")
		case dst.Mode == ModeAppend:
			bad(p+".source.cursor_lookback", "mode append sends every row it reads, so a lookback would send the window's rows again: use upsert (the diff drops rows already delivered)")
		default:
			if _, _, err := ParseLookback(src.CursorLookback); err != nil {
				bad(p+".source.cursor_lookback", "%v", err)
			}
		}
	}
	if dst.Mode == ModeReplace && src.Cursor != "" {
		bad(p+".source.cursor", "mode replace cannot use a cursor: it rewrites the whole object, which would then hold only the rows changed since the last run")
	}
	targets := map[string]bool{}
	for i, m := range s.Mappings {
		mp := fmt.Sprintf("%s.mappings[%d]", p, i)
		if m == nil {
			bad(mp, "mapping is empty")
			continue
		}
		if m.To == "" {
			bad(mp+".to", "to is required")
		} else if targets[m.To] {
			bad(mp+".to", "field %q is mapped twice", m.To)
		}
		targets[m.To] = true
		if (m.From == "") == (m.Value == nil) {
			bad(mp, "set exactly one of from or value")
		}
		if m.Type != "" && !ValidCast(m.Type) {
			bad(mp+".type", "unknown type %q (want string, int64, float64, bool, timestamp, date, decimal(p,s) or json)", m.Type)
		}
	}
	if len(s.Mappings) > 0 {
		for i, k := range dst.PrimaryKey {
			if !targets[k] {
				bad(fmt.Sprintf("%s.destination.primary_key[%d]", p, i), "primary key %q is not a mapped field", k)
			}
		}
	}
	if s.BatchSize < 0 || (s.BatchSize == 0 && f.has(p+".batch_size")) {
		bad(p+".batch_size", "must be at least 1")
	}
	if s.Concurrency < 1 {
		bad(p+".concurrency", "must be at least 1")
	} else if s.Concurrency > MaxConcurrency {
		bad(p+".concurrency", "must be at most %d (got %d)", MaxConcurrency, s.Concurrency)
	}
	f.validateDiff(s, sc, p, bad)
	if s.OnDuplicate != "error" && s.OnDuplicate != "last" {
		bad(p+".on_duplicate", "must be error or last")
	}
	if fr := *s.MaxDeleteFraction; fr < 0 || fr > 1 {
		bad(p+".max_delete_fraction", "must be between 0 and 1")
	}
	if s.OnReject.MaxRejected != nil && *s.OnReject.MaxRejected < 0 {
		bad(p+".on_reject.max_rejected", "must not be negative")
	}
}

func (f *File) has(path string) bool { _, ok := f.pos[path]; return ok }

func (f *File) knownConnections() string {
	if len(f.Connections) == 0 {
		return " (no connections are defined)"
	}
	names := make([]string, 0, len(f.Connections))
	for n := range f.Connections {
		names = append(names, n)
	}
	sort.Strings(names)
	return " (defined: " + strings.Join(names, ", ") + ")"
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// ValidCast reports whether t names a mapping cast.
func ValidCast(t string) bool {
	switch t {
	case "string", "int64", "float64", "bool", "timestamp", "date", "json":
		return true
	}
	var p, s int
	n, _ := fmt.Sscanf(t, "decimal(%d,%d)", &p, &s)
	return n == 2 && p >= 1 && p <= 38 && s >= 0 && s <= p
}

// SyncByName returns the named sync, or nil.
func (f *File) SyncByName(name string) *Sync {
	for _, s := range f.Syncs {
		if s != nil && s.Name == name {
			return s
		}
	}
	return nil
}

// Field returns the error path prefix of a sync ("syncs[2]").
func (s *Sync) Field() string { return fmt.Sprintf("syncs[%d]", s.Index) }

// ParseLookback reads a cursor_lookback: a duration ("10m", "2h", or days
// as "3d") for timestamp and date cursors, or a non-negative number for
// numeric ones. Exactly one of d and n is meaningful, as isDuration says.
func ParseLookback(v string) (d time.Duration, isDuration bool, err error) {
	if days, ok := strings.CutSuffix(v, "d"); ok {
		if n, err := strconv.ParseFloat(days, 64); err == nil && n >= 0 {
			return time.Duration(n * 24 * float64(time.Hour)), true, nil
		}
	}
	if d, err := time.ParseDuration(v); err == nil {
		if d < 0 {
			return 0, false, fmt.Errorf("cursor_lookback %q is negative", v)
		}
		return d, true, nil
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil && n >= 0 {
		return 0, false, nil
	}
	return 0, false, fmt.Errorf("cursor_lookback %q is neither a duration (10m, 2h, 3d) nor a non-negative number", v)
}
