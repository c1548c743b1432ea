// Package statetest is the conformance suite every state store runs: one
// call of Run from the store's own test proves that it keeps the
// state.Store contract (atomic commits, exclusive and fenced locks, lookups
// that agree with scans, Reset, History, crash safety).
//
// The suite knows nothing of any store. open gives it a store on fresh,
// empty state; Hooks give it what only the store's test can do: open a
// second runner on the same state, take a runner's lock away, crash a
// process in the middle of a commit.
package statetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/hoist-dev/hoist/internal/cursor"
	"github.com/hoist-dev/hoist/sync/state"
)

// Hooks is what a store's test adds to open.
type Hooks struct {
	// Reopen opens another store on the state s keeps: a second runner,
	// as another process or host would open it. The suite closes it.
	Reopen func(t *testing.T, s state.Store) state.Store
	// LoseLock takes s's lock on sync away the way a live runner can lose
	// it (PostgreSQL: its session ends), so that another runner can take
	// it. Without it the fencing check is skipped: the store's lock cannot
	// be lost while its holder lives.
	LoseLock func(t *testing.T, s state.Store, sync string)
	// Crash runs CrashChild(store, sync, point) in a process of its own,
	// on the state s keeps, with the store's own crash hook armed to exit
	// with CrashExit at point when point is one of CrashPoints, and
	// returns the process's exit code and output. Without it the crash
	// checks are skipped.
	Crash func(t *testing.T, s state.Store, sync, point string) (exitCode int, output string)
	// CrashPoints are the store's own points inside Commit that Crash can
	// stop a process at, besides the suite's own (DeltaPoints).
	CrashPoints []string
	// Known marks checks a store is known to fail, by their path below the
	// suite ("fencing/…"), with the reason: they are skipped with
	// "known: <reason>", so the failure stays on record.
	Known map[string]string
}

// opTimeout bounds every store call, so a hang fails the check that caused
// it instead of the whole test binary.
const opTimeout = 30 * time.Second

// Run runs every check of the suite; open returns a store on fresh, empty
// state for the test it is given, and is called once per check.
func Run(t *testing.T, open func(t *testing.T) state.Store, h Hooks) {
	t.Helper()
	if open == nil || h.Reopen == nil {
		t.Fatal("statetest: need open and Hooks.Reopen")
	}
	s := &suite{open: open, h: h, root: t.Name(), known: map[string]string{}, used: map[string]bool{}}
	for k, why := range h.Known {
		s.known[strings.ReplaceAll(k, " ", "_")] = why
	}
	t.Run("commit", s.commits)
	t.Run("lock", s.locks)
	s.check(t, "fencing", s.fencing)
	s.check(t, "lookup equals scan", s.lookupEqualsScan)
	s.check(t, "long lookups equal scan", s.lookupLongEqualsScan)
	s.check(t, "reset", s.reset)
	s.check(t, "history newest first", s.history)
	s.check(t, "daily request counts", s.ledger)
	t.Run("crash", s.crashes)
	for k := range h.Known {
		if !s.used[strings.ReplaceAll(k, " ", "_")] {
			t.Errorf("statetest: the hooks mark %q known, but no check of that name ran", k)
		}
	}
}

type suite struct {
	open  func(t *testing.T) state.Store
	h     Hooks
	root  string
	mu    stdsync.Mutex
	known map[string]string
	used  map[string]bool
}

// check runs one check as a subtest, unless the hooks mark it known.
func (s *suite) check(t *testing.T, name string, fn func(t *testing.T)) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		key := strings.TrimPrefix(t.Name(), s.root+"/")
		s.mu.Lock()
		why, known := s.known[key]
		s.used[key] = s.used[key] || known
		s.mu.Unlock()
		if known {
			t.Skip("known: " + why)
		}
		fn(t)
	})
}

// store opens a store on fresh state for t and closes it after t.
func (s *suite) store(t *testing.T) state.Store {
	t.Helper()
	st := s.open(t)
	t.Cleanup(func() { st.Close() })
	return st
}

// another opens a second runner on the state of st.
func (s *suite) another(t *testing.T, st state.Store) state.Store {
	t.Helper()
	o := s.h.Reopen(t, st)
	t.Cleanup(func() { o.Close() })
	return o
}

func ctxFor() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), opTimeout)
}

// entries builds a sorted delta from "key=row" strings; "key" alone (no
// '=') removes the key, and "key=row#id" gives the row a record ID.
func entries(kv ...string) []state.Entry {
	out := make([]state.Entry, 0, len(kv))
	for _, s := range kv {
		k, r, set := strings.Cut(s, "=")
		e := state.Entry{Key: []byte(k)}
		if set {
			r, id, hasID := strings.Cut(r, "#")
			e.Row = []byte(r)
			if hasID {
				e.ID = []byte(id)
			}
		}
		out = append(out, e)
	}
	sortEntries(out)
	return out
}

func sortEntries(es []state.Entry) {
	slices.SortStableFunc(es, func(a, b state.Entry) int { return bytes.Compare(a.Key, b.Key) })
}

func delta(es ...state.Entry) state.Iterator { return &state.SliceIterator{Entries: es} }

// commit applies c to sync, failing the check on error.
func commit(t *testing.T, st state.Store, sync string, c *state.Commit) {
	t.Helper()
	ctx, cancel := ctxFor()
	defer cancel()
	if err := st.Commit(ctx, sync, c); err != nil {
		t.Fatalf("commit to sync %s: %v", sync, err)
	}
}

var runStart = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// runN is the n-th run of a check's history, told apart by Delivered.
func runN(n int) state.Run {
	return state.Run{Status: "ok", Mode: "upsert", StartedAt: runStart.Add(time.Duration(n) * time.Minute), DurationMS: int64(n), Delivered: int64(n)}
}

func cursorAt(v string) *cursor.Cursor { return &cursor.Cursor{Kind: cursor.Int, Value: v} }

// view is everything a store says about one sync, to compare whole states.
type view struct {
	Cursor   *cursor.Cursor
	Rows     int64
	Identity *state.Identity
	Runs     []string // JSON of each run, newest first
	Snapshot []state.Entry
}

func (v view) String() string {
	var b strings.Builder
	var runs []string
	for _, raw := range v.Runs {
		var r state.Run
		json.Unmarshal([]byte(raw), &r)
		runs = append(runs, fmt.Sprintf("%s:%d", r.Status, r.Delivered))
	}
	fmt.Fprintf(&b, "cursor %v, %d rows, identity %v, runs (status:delivered, newest first) %v, snapshot %s",
		v.Cursor, v.Rows, identityText(v.Identity), runs, entriesText(v.Snapshot))
	return b.String()
}

func identityText(id *state.Identity) string {
	if id == nil {
		return "none"
	}
	return id.Source + "→" + id.Destination
}

func (v view) equal(o view) bool {
	return reflect.DeepEqual(v.Cursor, o.Cursor) && v.Rows == o.Rows && reflect.DeepEqual(v.Identity, o.Identity) &&
		slices.Equal(v.Runs, o.Runs) && equalEntries(v.Snapshot, o.Snapshot)
}

// read takes a view of sync through every read the Store interface has.
func read(t *testing.T, st state.Store, sync string) view {
	t.Helper()
	ctx, cancel := ctxFor()
	defer cancel()
	g, err := st.Get(ctx, sync)
	if err != nil {
		t.Fatalf("get sync %s: %v", sync, err)
	}
	runs, err := st.History(ctx, sync, 1000)
	if err != nil {
		t.Fatalf("history of sync %s: %v", sync, err)
	}
	v := view{Cursor: g.Cursor, Rows: g.SnapshotRows, Identity: g.Identity, Snapshot: snapshot(t, st, sync)}
	for _, r := range runs {
		v.Runs = append(v.Runs, runText(r))
	}
	switch {
	case len(runs) == 0 && g.LastRun != nil:
		t.Errorf("sync %s: Get has a last run %+v, History has none", sync, g.LastRun)
	case len(runs) > 0 && (g.LastRun == nil || runText(*g.LastRun) != v.Runs[0]):
		t.Errorf("sync %s: Get's last run %+v is not History's newest %s", sync, g.LastRun, v.Runs[0])
	}
	if int64(len(v.Snapshot)) != v.Rows {
		t.Errorf("sync %s: Get says %d snapshot rows, Snapshot iterates %d", sync, v.Rows, len(v.Snapshot))
	}
	return v
}

func runText(r state.Run) string {
	r.StartedAt = r.StartedAt.UTC()
	b, _ := json.Marshal(r)
	return string(b)
}

// snapshot reads sync's whole snapshot, copying every entry, and checks
// its order.
func snapshot(t *testing.T, st state.Store, sync string) []state.Entry {
	t.Helper()
	ctx, cancel := ctxFor()
	defer cancel()
	it, err := st.Snapshot(ctx, sync)
	if err != nil {
		t.Fatalf("snapshot of sync %s: %v", sync, err)
	}
	var out []state.Entry
	for it.Next() {
		e := it.Entry()
		if n := len(out); n > 0 && bytes.Compare(out[n-1].Key, e.Key) >= 0 {
			t.Errorf("snapshot of sync %s: key %q after %q (want strictly ascending bytes)", sync, e.Key, out[n-1].Key)
		}
		out = append(out, copyEntry(e))
	}
	if err := it.Err(); err != nil {
		t.Fatalf("snapshot of sync %s: %v", sync, err)
	}
	if err := it.Close(); err != nil {
		t.Fatalf("snapshot of sync %s: close: %v", sync, err)
	}
	return out
}

// copyEntry copies an entry a store lent; an empty ID is no ID (nil), as
// the Entry contract has it.
func copyEntry(e state.Entry) state.Entry {
	c := state.Entry{Key: bytes.Clone(e.Key), Row: append([]byte{}, e.Row...)}
	if len(e.ID) > 0 {
		c.ID = bytes.Clone(e.ID)
	}
	return c
}

func equalEntries(a, b []state.Entry) bool {
	return slices.EqualFunc(a, b, func(x, y state.Entry) bool {
		return bytes.Equal(x.Key, y.Key) && bytes.Equal(x.Row, y.Row) && bytes.Equal(x.ID, y.ID)
	})
}

func entriesText(es []state.Entry) string {
	parts := make([]string, len(es))
	for i, e := range es {
		row := string(e.Row)
		if len(row) > 24 {
			row = fmt.Sprintf("%.16s…(%d bytes)", row, len(row))
		}
		parts[i] = fmt.Sprintf("%q=%q", e.Key, row)
		if e.ID != nil {
			parts[i] += fmt.Sprintf("#%q", e.ID)
		}
	}
	return "[" + strings.Join(parts, " ") + "]"
}
