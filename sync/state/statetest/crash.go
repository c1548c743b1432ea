package statetest

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/hoist-dev/hoist/sync/state"
)

// CrashExit is the exit code of a process that died where the crash check
// told it to.
const CrashExit = 7

// DeltaPoints are the suite's own crash points: the process dies while the
// store reads the commit's delta, half-way through it, or once it has read
// it all (the commit not yet done).
var DeltaPoints = []string{"delta-half", "delta-end"}

// crashDelta is the delta of the commit that crashes: it overwrites,
// removes and adds, so a half-applied commit shows.
func crashDelta() []state.Entry {
	es := entries("a=crashed", "aa", "b", "c=new", "empty=crashed", "\xff")
	for i := range 20 {
		es = append(es, state.Entry{Key: []byte(fmt.Sprintf("crash-%02d", i)), Row: []byte("new")})
	}
	sortEntries(es)
	return es
}

func crashCommit(it state.Iterator) *state.Commit {
	return &state.Commit{Cursor: cursorAt("2"), Delta: it, Run: runN(2), Identity: identityB}
}

// dyingIter ends the process when asked for entry at (len: when asked for
// one past the last).
type dyingIter struct {
	state.SliceIterator
	at, i int
}

func (d *dyingIter) Next() bool {
	if d.i == d.at {
		os.Exit(CrashExit)
	}
	d.i++
	return d.SliceIterator.Next()
}

// CrashChild is what the process Hooks.Crash starts runs, on the state the
// check set up: it takes the sync's lock, as a run does, and makes the
// commit the check expects to crash. At one of DeltaPoints it dies itself;
// at one of the store's points the store's hook, armed by Hooks.Crash,
// kills it. It returns only if it did not die: the commit's error, or nil.
func CrashChild(st state.Store, sync, point string) error {
	ctx := context.Background()
	l, err := st.Lock(ctx, sync, 10*time.Second)
	if err != nil {
		return err
	}
	defer l.Release()
	es := crashDelta()
	it := &dyingIter{SliceIterator: state.SliceIterator{Entries: es}, at: -1}
	switch point {
	case "delta-half":
		it.at = len(es) / 2
	case "delta-end":
		it.at = len(es)
	}
	return st.Commit(ctx, sync, crashCommit(it))
}

// crashes kills a process in the middle of a commit at every point the
// suite and the store know, and expects the old state or the new one,
// never a mix; then the lock the dead process held must be free and the
// next commit must work.
func (s *suite) crashes(t *testing.T) {
	if s.h.Crash == nil {
		t.Skip("the store's test cannot crash a process mid-commit")
	}
	for _, point := range append(slices.Clone(DeltaPoints), s.h.CrashPoints...) {
		s.check(t, point, func(t *testing.T) { s.crashAt(t, point) })
	}
}

func (s *suite) crashAt(t *testing.T, point string) {
	const sync = "crashing"
	st := s.store(t)
	old := commitA(t, st, sync)
	snap := apply(old.Snapshot, crashDelta())
	done := view{Cursor: cursorAt("2"), Rows: int64(len(snap)), Identity: identityB,
		Runs: []string{runText(runN(2)), runText(runN(1))}, Snapshot: snap}

	code, out := s.h.Crash(t, st, sync, point)
	if code != CrashExit {
		t.Fatalf("the process did not die at %s (exit code %d, want %d):\n%s", point, code, CrashExit, out)
	}
	got := read(t, st, sync)
	switch {
	case got.equal(old):
		t.Logf("crash at %s: the old state", point)
	case got.equal(done):
		t.Logf("crash at %s: the new state", point)
		if slices.Contains(DeltaPoints, point) {
			t.Errorf("crash at %s: the commit landed, though its process died before it was made", point)
		}
	default:
		t.Fatalf("crash at %s left a mix of the old state and the new:\n  got %s\n  old %s\n  new %s", point, got, old, done)
	}
	// the dead process's lock is free, and the store takes the next commit
	l := lock(t, st, sync, 10*time.Second)
	defer l.Release()
	commit(t, st, sync, &state.Commit{Cursor: cursorAt("3"), Delta: delta(entries("after=crash")...), Run: runN(3)})
	next := got
	next.Snapshot = apply(got.Snapshot, entries("after=crash"))
	next.Rows, next.Cursor = int64(len(next.Snapshot)), cursorAt("3")
	next.Runs = append([]string{runText(runN(3))}, got.Runs...)
	expectView(t, st, sync, "after a commit that followed the crash", next)
}
