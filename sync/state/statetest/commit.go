package statetest

import (
	"bytes"
	"errors"
	"strconv"
	"testing"

	"github.com/hoist-dev/hoist/sync/state"
)

// commits checks that Commit moves cursor, snapshot, identity and history
// together, and that a commit that fails moves none of them.
func (s *suite) commits(t *testing.T) {
	s.check(t, "a sync never run is empty", s.neverRun)
	s.check(t, "moves everything together", s.movesTogether)
	s.check(t, "nil parts keep what they had", s.nilKeeps)
	s.check(t, "a failing delta leaves the previous state", s.failingDelta)
	s.check(t, "syncs are independent", s.independent)
}

var (
	identityA = &state.Identity{Source: "src-a", Destination: "dest-a", PrimaryKey: []string{"id"}, Schema: "schema-a"}
	identityB = &state.Identity{Source: "src-b", Destination: "dest-b", PrimaryKey: []string{"id", "org"}, Schema: "schema-b"}
)

// firstDelta has the keys bytes order is easy to get wrong with (the
// empty key, NUL, prefixes, high bytes), an empty row (which is not a
// removal), a row of 64 KiB, and record IDs beside some rows (an empty
// row's, binary ones, one of 1 KiB).
func firstDelta() []state.Entry {
	es := entries("=empty key", "\x00=nul#rid-nul", "\x00\x00=nul nul", "a=1#rid-a", "aa=2#rid-aa", "ab=3", "b=4#\x00\xff", "\xff=high", "\xff\xfe=higher#rid-higher", "empty=#rid-empty")
	es = append(es, state.Entry{Key: []byte("large"), Row: bytes.Repeat([]byte("0123456789abcdef"), 4096), ID: bytes.Repeat([]byte("id"), 512)})
	sortEntries(es)
	return es
}

// secondDelta overwrites (dropping one ID, changing another, giving a row
// one), removes (one key the snapshot lacks) and adds.
func secondDelta() []state.Entry {
	return entries("a=one", "aa", "absent", "ab=3#rid-ab", "b=4#rid-b2", "c=5#rid-c", "empty=now set", "\xff")
}

// apply is what a delta makes of a snapshot, by the Commit contract: an
// entry sets its key's row and ID together.
func apply(snap, delta []state.Entry) []state.Entry {
	m := map[string]state.Entry{}
	for _, e := range snap {
		m[string(e.Key)] = e
	}
	for _, e := range delta {
		if e.Row == nil {
			delete(m, string(e.Key))
		} else {
			m[string(e.Key)] = e
		}
	}
	out := make([]state.Entry, 0, len(m))
	for k, e := range m {
		out = append(out, state.Entry{Key: []byte(k), Row: e.Row, ID: e.ID})
	}
	sortEntries(out)
	return out
}

// commitA makes sync's first commit and returns the view it must leave.
func commitA(t *testing.T, st state.Store, sync string) view {
	t.Helper()
	commit(t, st, sync, &state.Commit{Cursor: cursorAt("1"), Delta: delta(firstDelta()...), Run: runN(1), Identity: identityA})
	snap := apply(nil, firstDelta())
	return view{Cursor: cursorAt("1"), Rows: int64(len(snap)), Identity: identityA, Runs: []string{runText(runN(1))}, Snapshot: snap}
}

func expectView(t *testing.T, st state.Store, sync, when string, want view) {
	t.Helper()
	if got := read(t, st, sync); !got.equal(want) {
		t.Errorf("sync %s %s:\n  got  %s\n  want %s", sync, when, got, want)
	}
}

func (s *suite) neverRun(t *testing.T) {
	st := s.store(t)
	expectView(t, st, "never-run", "before any commit", view{})
}

func (s *suite) movesTogether(t *testing.T) {
	st := s.store(t)
	a := commitA(t, st, "s")
	expectView(t, st, "s", "after its first commit", a)
	commit(t, st, "s", &state.Commit{Cursor: cursorAt("2"), Delta: delta(secondDelta()...), Run: runN(2), Identity: identityB})
	snap := apply(a.Snapshot, secondDelta())
	expectView(t, st, "s", "after a second commit that overwrites, removes and adds", view{
		Cursor: cursorAt("2"), Rows: int64(len(snap)), Identity: identityB,
		Runs: []string{runText(runN(2)), runText(runN(1))}, Snapshot: snap,
	})
}

func (s *suite) nilKeeps(t *testing.T) {
	st := s.store(t)
	a := commitA(t, st, "s")
	commit(t, st, "s", &state.Commit{Run: runN(2)})
	a.Runs = append([]string{runText(runN(2))}, a.Runs...)
	expectView(t, st, "s", "after a commit of only a run (nil cursor, delta and identity)", a)
	commit(t, st, "s", &state.Commit{Delta: delta(), Run: runN(3)})
	a.Runs = append([]string{runText(runN(3))}, a.Runs...)
	expectView(t, st, "s", "after a commit of an empty delta", a)
}

// failingIter yields entries, then fails after n of them.
type failingIter struct {
	state.SliceIterator
	n int
}

var errDeltaFailed = errors.New("the delta's source failed")

func (f *failingIter) Next() bool {
	if f.n <= 0 {
		return false
	}
	f.n--
	return f.SliceIterator.Next()
}

func (f *failingIter) Err() error {
	if f.n <= 0 {
		return errDeltaFailed
	}
	return nil
}

func (s *suite) failingDelta(t *testing.T) {
	st := s.store(t)
	a := commitA(t, st, "s")
	for _, after := range []int{0, 2, len(secondDelta()) - 1} {
		it := &failingIter{SliceIterator: state.SliceIterator{Entries: secondDelta()}, n: after}
		ctx, cancel := ctxFor()
		err := st.Commit(ctx, "s", &state.Commit{Cursor: cursorAt("2"), Delta: it, Run: runN(2), Identity: identityB})
		cancel()
		if err == nil {
			t.Fatalf("a commit whose delta failed after %d entries succeeded", after)
		}
		expectView(t, st, "s", "after a commit whose delta failed after "+itoa(after)+" entries", a)
	}
	// the store is not left unusable
	commit(t, st, "s", &state.Commit{Cursor: cursorAt("3"), Delta: delta(entries("z=26")...), Run: runN(3)})
	snap := apply(a.Snapshot, entries("z=26"))
	expectView(t, st, "s", "after a good commit that followed the failed ones", view{
		Cursor: cursorAt("3"), Rows: int64(len(snap)), Identity: identityA, Runs: []string{runText(runN(3)), runText(runN(1))}, Snapshot: snap,
	})
}

// independent commits to syncs whose names a store must keep apart (a
// separator, a dot-dot, spaces and Unicode), then resets one.
func (s *suite) independent(t *testing.T) {
	st := s.store(t)
	names := []string{"a", "a/b", "..", "a b", "ünï", "A"}
	want := map[string]view{}
	for i, name := range names {
		es := entries("k=" + name)
		commit(t, st, name, &state.Commit{Cursor: cursorAt(itoa(i)), Delta: delta(es...), Run: runN(i)})
		want[name] = view{Cursor: cursorAt(itoa(i)), Rows: 1, Runs: []string{runText(runN(i))}, Snapshot: es}
	}
	ctx, cancel := ctxFor()
	defer cancel()
	if err := st.Reset(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	want["a"] = view{Runs: want["a"].Runs}
	for _, name := range names {
		expectView(t, st, name, "beside the others (sync a reset)", want[name])
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
