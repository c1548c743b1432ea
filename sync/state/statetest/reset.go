package statetest

import (
	"testing"

	"github.com/hoist-dev/hoist/sync/state"
)

// reset checks that Reset forgets cursor and snapshot (and the identity
// describing them) but keeps the history, and that a commit after it
// starts from nothing: no old key comes back.
func (s *suite) reset(t *testing.T) {
	st := s.store(t)
	commitA(t, st, "s")
	commit(t, st, "s", &state.Commit{Cursor: cursorAt("2"), Delta: delta(secondDelta()...), Run: runN(2)})
	ctx, cancel := ctxFor()
	defer cancel()
	if err := st.Reset(ctx, "s"); err != nil {
		t.Fatalf("reset: %v", err)
	}
	runs := []string{runText(runN(2)), runText(runN(1))}
	expectView(t, st, "s", "after Reset", view{Runs: runs})
	commit(t, st, "s", &state.Commit{Cursor: cursorAt("3"), Delta: delta(entries("new=1")...), Run: runN(3), Identity: identityB})
	expectView(t, st, "s", "after the first commit following Reset", view{
		Cursor: cursorAt("3"), Rows: 1, Identity: identityB, Runs: append([]string{runText(runN(3))}, runs...), Snapshot: entries("new=1"),
	})
	if err := st.Reset(ctx, "never committed"); err != nil {
		t.Errorf("reset of a sync never committed: %v", err)
	}
}

// history checks that History returns the last n runs, newest first, and
// that Get's last run is the newest.
func (s *suite) history(t *testing.T) {
	st := s.store(t)
	for i := 1; i <= 5; i++ {
		run := runN(i)
		if i == 3 {
			run.Status, run.Error = "failed", "the destination went away"
		}
		commit(t, st, "s", &state.Commit{Run: run})
	}
	ctx, cancel := ctxFor()
	defer cancel()
	got, err := st.History(ctx, "s", 3)
	if err != nil {
		t.Fatal(err)
	}
	var delivered []int64
	for _, r := range got {
		delivered = append(delivered, r.Delivered)
	}
	if len(got) != 3 || delivered[0] != 5 || delivered[1] != 4 || delivered[2] != 3 || got[2].Status != "failed" {
		t.Errorf("History(3) after 5 runs: runs %v (delivered), want [5 4 3], the oldest failed: %+v", delivered, got)
	}
	v := read(t, st, "s") // History(1000): all five, and Get's last run is the newest
	if len(v.Runs) != 5 || v.Runs[0] != runText(runN(5)) || v.Runs[4] != runText(runN(1)) {
		t.Errorf("the whole history after 5 runs: %v", v.Runs)
	}
}
