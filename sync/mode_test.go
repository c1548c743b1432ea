package sync

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/sync/diff"
	"github.com/hoist-dev/hoist/sync/spec"
	"github.com/hoist-dev/hoist/sync/state"
)

// TestModes spells out what every mode means, and holds Mode to the rules
// spec validation and the load package state on their own (key needed,
// cursor and lookback allowed, the op of new and changed rows).
func TestModes(t *testing.T) {
	type sends struct{ add, change, remove, unchanged bool }
	tests := []struct {
		mode   string
		keyed  bool
		plain  sends // a run without flags
		full   sends // --full-refresh
		fresh  sends // --refresh
		write  load.Op
		cursor bool
		back   bool // cursor_lookback
		bound  bool // max_delete_fraction
		keeps  bool // an abort keeps acknowledged batches delivered
		joint  bool // the state may commit with the last batch
		id     IdentityRule
	}{
		{mode: spec.ModeInsert, keyed: true, plain: sends{add: true}, full: sends{add: true, unchanged: true}, fresh: sends{add: true},
			write: load.OpInsert, cursor: true, back: true, keeps: true, joint: true, id: IdentityKeyed},
		{mode: spec.ModeUpdate, keyed: true, plain: sends{add: true, change: true}, full: sends{add: true, change: true, unchanged: true},
			fresh: sends{change: true}, write: load.OpUpdate, cursor: true, back: true, keeps: true, joint: true, id: IdentityKeyed},
		{mode: spec.ModeUpsert, keyed: true, plain: sends{add: true, change: true}, full: sends{add: true, change: true, unchanged: true},
			fresh: sends{add: true, change: true}, write: load.OpUpsert, cursor: true, back: true, keeps: true, joint: true, id: IdentityKeyed},
		{mode: spec.ModeMirror, keyed: true, plain: sends{add: true, change: true, remove: true},
			full: sends{add: true, change: true, remove: true, unchanged: true}, fresh: sends{add: true, change: true, remove: true},
			write: load.OpUpsert, bound: true, keeps: true, joint: true, id: IdentityKeyed},
		{mode: spec.ModeAppend, write: load.OpAppend, cursor: true, keeps: true, joint: true, id: IdentityStrict},
		{mode: spec.ModeReplace, write: load.OpAppend, id: IdentityIgnored},
	}
	var names []string
	for _, tt := range tests {
		names = append(names, tt.mode)
		t.Run(tt.mode, func(t *testing.T) {
			m := ModeOf(tt.mode)
			if m.Name != tt.mode || m.Keyed != tt.keyed || m.Write != tt.write || m.Cursor != tt.cursor || m.Lookback != tt.back ||
				m.BoundedDeletes != tt.bound || m.AbortKeepsAcked() != tt.keeps || m.JointCommit() != tt.joint || m.Identity != tt.id {
				t.Fatalf("ModeOf(%q) = %+v (keeps acked %v, joint %v)", tt.mode, m, m.AbortKeepsAcked(), m.JointCommit())
			}
			if m.Keyed {
				for _, c := range []struct {
					name          string
					full, refresh bool
					want          sends
				}{{"plain", false, false, tt.plain}, {"full", true, false, tt.full}, {"refresh", false, true, tt.fresh}} {
					got := sends{m.Sends(diff.Add, c.full, c.refresh), m.Sends(diff.Change, c.full, c.refresh),
						m.Sends(diff.Remove, c.full, c.refresh), m.Sends(diff.Unchanged, c.full, c.refresh)}
					if got != c.want {
						t.Errorf("%s run sends %+v, want %+v", c.name, got, c.want)
					}
				}
				if op := m.Op(diff.Remove); op != load.OpDelete {
					t.Errorf("a removed key goes as %s, want delete", op)
				}
				for _, k := range []diff.Kind{diff.Add, diff.Change, diff.Unchanged} {
					if op := m.Op(k); op != tt.write {
						t.Errorf("a %s key goes as %s, want %s", k, op, tt.write)
					}
				}
			}
			// the rules the spec and load state on their own agree
			if spec.KeyNeeded(tt.mode) != m.Keyed {
				t.Errorf("spec.KeyNeeded = %v, Mode.Keyed = %v", spec.KeyNeeded(tt.mode), m.Keyed)
			}
			if op := load.OpFor(tt.mode); op != m.Write {
				t.Errorf("load.OpFor = %s, Mode.Write = %s", op, m.Write)
			}
			if err := validate(tt.mode, "", ""); err != nil {
				t.Fatalf("a plain %s sync does not validate: %v", tt.mode, err)
			}
			if err := validate(tt.mode, "updated_at", ""); (err == nil) != m.Cursor {
				t.Errorf("validation with a cursor: %v; Mode.Cursor = %v", err, m.Cursor)
			}
			if m.Cursor {
				if err := validate(tt.mode, "updated_at", "1h"); (err == nil) != m.Lookback {
					t.Errorf("validation with a cursor_lookback: %v; Mode.Lookback = %v", err, m.Lookback)
				}
			}
		})
	}
	if known := slices.Sorted(maps.Keys(modes)); !slices.Equal(known, slices.Sorted(slices.Values(names))) {
		t.Errorf("modes %v, table covers %v", known, names)
	}
	if err := validate("sideways", "", ""); err == nil || !strings.Contains(err.Error(), "unknown mode") {
		t.Errorf("an unknown mode validates: %v", err)
	}
	// an unknown mode (never validated) streams append batches, as before
	if m := ModeOf("sideways"); m.Keyed || m.Write != load.OpAppend || !m.AbortKeepsAcked() || m.Identity != IdentityKeyed {
		t.Errorf("ModeOf(unknown) = %+v", m)
	}
}

// validate parses a one-sync spec in mode, with a cursor and lookback when
// set, and returns what validation says.
func validate(mode, cursor, lookback string) error {
	src := "{connection: db, table: people"
	if cursor != "" {
		src += ", cursor: " + cursor
	}
	if lookback != "" {
		src += ", cursor_lookback: " + lookback
	}
	text := fmt.Sprintf(`version: 1
connections:
  db: {type: sqlite, path: db.sqlite}
syncs:
  - name: people
    source: %s}
    destination: {connection: db, object: out, mode: %s, primary_key: [id]}
`, src, mode)
	_, err := spec.Parse("hoist.yaml", []byte(text), func(string) (string, bool) { return "", false })
	return err
}

// TestTally: what plan and run count follows what the mode sends.
func TestTally(t *testing.T) {
	res := &diffResult{added: 1, changed: 2, removed: 4, unchanged: 8}
	tests := []struct {
		mode string
		full bool
		want counts
	}{
		{spec.ModeInsert, false, counts{Added: 1, Unchanged: 10}},
		{spec.ModeUpdate, false, counts{Added: 1, Changed: 2, Unchanged: 8}},
		{spec.ModeUpsert, true, counts{Added: 1, Changed: 2, Resent: 8}},
		{spec.ModeMirror, false, counts{Added: 1, Changed: 2, Removed: 4, Unchanged: 8}},
	}
	for _, tt := range tests {
		if got := tally(ModeOf(tt.mode), tt.full, res); got != tt.want {
			t.Errorf("tally(%s, full %v) = %+v, want %+v", tt.mode, tt.full, got, tt.want)
		}
	}
}

// TestModeIdentity: what a changed identity means under each mode's rule
// (identity.go): refused, re-read, or ignored.
func TestModeIdentity(t *testing.T) {
	was := &state.Identity{Source: "sqlite:a.db table=people", Destination: "sqlite:b.db object=out", PrimaryKey: []string{"id"}, Schema: "s1"}
	change := map[string]func(*state.Identity){
		"destination": func(id *state.Identity) { id.Destination = "sqlite:c.db object=out" },
		"primary key": func(id *state.Identity) { id.PrimaryKey = []string{"email"} },
		"source":      func(id *state.Identity) { id.Source = "sqlite:d.db table=people" },
		"schema":      func(id *state.Identity) { id.Schema = "s2" },
	}
	type outcome struct{ refused, reread bool }
	keyed := map[string]outcome{"destination": {refused: true}, "primary key": {refused: true}, "source": {reread: true}, "schema": {reread: true}}
	tests := []struct {
		mode string
		want map[string]outcome
	}{
		{spec.ModeInsert, keyed},
		{spec.ModeUpdate, keyed},
		{spec.ModeUpsert, keyed},
		{spec.ModeMirror, keyed},
		{spec.ModeAppend, map[string]outcome{"destination": {refused: true}, "primary key": {refused: true}, "source": {refused: true, reread: true}, "schema": {}}},
		{spec.ModeReplace, map[string]outcome{"destination": {}, "primary key": {}, "source": {}, "schema": {}}},
	}
	for _, tt := range tests {
		for what, edit := range change {
			now := *was
			now.PrimaryKey = slices.Clone(was.PrimaryKey)
			edit(&now)
			c := compareIdentity(tt.mode, was, &now)
			if got := (outcome{c.refused, len(c.reread) > 0}); got != tt.want[what] {
				t.Errorf("%s, new %s: refused %v, re-read %v; want %+v", tt.mode, what, got.refused, got.reread, tt.want[what])
			}
		}
		if c := compareIdentity(tt.mode, nil, was); c.any() || c.refused {
			t.Errorf("%s: a state with no identity does not match: %+v", tt.mode, c)
		}
	}
}
