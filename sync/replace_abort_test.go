package sync_test

import (
	"context"
	"testing"

	hsync "github.com/hoist-dev/hoist/sync"
)

// TestReplaceAbortDeliversNothing: a replace whose later batch fails rolls
// the whole object back, so the batches the destination acknowledged before
// the failure were not delivered after all: the report and the run's
// history say 0, and the destination keeps its old rows.
func TestReplaceAbortDeliversNothing(t *testing.T) {
	e := newEnv(t, `{connection: db, object: people, mode: replace, create_table: true}`, "")
	e.file.Syncs[0].Concurrency = 1
	e.source("id,name\n1,a\n2,b\n")
	if rep := e.run(); rep.Status != hsync.StatusOK || rep.Delivered != 2 {
		t.Fatalf("first run: %+v", rep)
	}
	e.source("id,name\n1,x\n2,y\n3,z\n4,w\n") // batch_size 2: batch 0 lands, batch 1 fails
	injector.failBatch(1)
	defer injector.set(nil, 0)
	rep := e.run()
	if rep.Status != hsync.StatusFailed || rep.Delivered != 0 || rep.Committed != 0 {
		t.Fatalf("failed replace: %+v", rep)
	}
	if got := e.names(); got != "1=a 2=b" {
		t.Fatalf("destination after the rolled-back replace: %q, want the old rows", got)
	}
	runs, err := e.store.History(context.Background(), "people", 1)
	if err != nil || len(runs) != 1 || runs[0].Status != hsync.StatusFailed || runs[0].Delivered != 0 {
		t.Fatalf("history of the failed replace: %+v, %v", runs, err)
	}
}
