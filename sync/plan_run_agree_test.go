package sync_test

import (
	"context"
	"fmt"
	"testing"
)

// TestPlanAndRunAgree (issue 10, item 7): for every mode, with and without
// --full-refresh, a plan and then a run on the same change report the same
// counts, and the plan is pending exactly when the run sends something. The
// change adds a key, changes one and deletes one; the run after it must then
// have nothing left to do (for the modes that diff).
func TestPlanAndRunAgree(t *testing.T) {
	modes := []struct{ mode, dest string }{
		{"insert", `{connection: db, object: people, mode: insert, primary_key: [id], create_table: true}`},
		{"update", `{connection: db, object: people, mode: update, primary_key: [id], create_table: true}`},
		{"upsert", `{connection: db, object: people, mode: upsert, primary_key: [id], create_table: true}`},
		{"mirror", `{connection: db, object: people, mode: mirror, primary_key: [id], create_table: true}`},
		{"append", `{connection: db, object: people, mode: append, create_table: true}`},
		{"replace", `{connection: db, object: people, mode: replace, create_table: true}`},
	}
	for _, m := range modes {
		for _, full := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/full=%v", m.mode, full), func(t *testing.T) {
				e := newEnv(t, m.dest, "")
				e.source("id,name\n1,Ann\n2,Bob\n3,Cy\n")
				if rep := e.run(); rep.Status != "ok" {
					t.Fatalf("first run: %+v", rep)
				}
				// key 1 changes, key 2 is deleted, key 4 is new
				e.source("id,name\n1,Anne\n3,Cy\n4,Dee\n")
				e.runner.Opt.FullRefresh = full
				for round := 1; round <= 2; round++ {
					plan, err := e.runner.Plan(context.Background(), e.file.Syncs[0])
					if err != nil {
						t.Fatal(err)
					}
					rep := e.run()
					if rep.Status != "ok" {
						t.Fatalf("round %d run: %+v", round, rep)
					}
					got := [5]int64{rep.Added, rep.Changed, rep.Removed, rep.Unchanged, rep.Resent}
					want := [5]int64{plan.Added, plan.Changed, plan.Removed, plan.Unchanged, plan.Resent}
					if got != want {
						t.Fatalf("round %d: plan said +%d ~%d -%d =%d resend %d, run counted +%d ~%d -%d =%d resent %d",
							round, want[0], want[1], want[2], want[3], want[4], got[0], got[1], got[2], got[3], got[4])
					}
					// sent = delivered, or offered as an update to a key the
					// destination turned out not to hold (update mode)
					if sent := rep.Delivered + rep.NotHeld; plan.Pending() != (sent > 0) {
						t.Fatalf("round %d: plan pending %v, run sent %d (%+v)", round, plan.Pending(), sent, plan)
					}
					if m.mode == "insert" && rep.Changed != 0 {
						t.Fatalf("insert mode counted a change it does not send: %+v", rep)
					}
					if m.mode != "mirror" && rep.Removed != 0 {
						t.Fatalf("%s mode counted a removal it does not send: %+v", m.mode, rep)
					}
					// After a run nothing is left to send, but the rows update
					// mode offers again because the destination lacks their key.
					if round == 2 && !full && m.mode != "append" && m.mode != "replace" && plan.Added+plan.Changed+plan.Removed != rep.NotHeld {
						t.Fatalf("round 2: still pending after a run: %+v (not held %d)", plan, rep.NotHeld)
					}
				}
			})
		}
	}
}
