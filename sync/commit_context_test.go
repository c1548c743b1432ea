package sync

import (
	"context"
	"testing"
	"time"
)

// The state commit outlives the run's cancellation by the grace period at
// most, and has no deadline while the run is live.
func TestCommitContext(t *testing.T) {
	t.Parallel()
	const grace = 50 * time.Millisecond

	live, cancelLive := context.WithCancel(context.Background())
	defer cancelLive()
	cctx, done := commitContext(live, grace)
	if _, ok := cctx.Deadline(); ok {
		t.Fatal("a live run's commit has a deadline")
	}
	time.Sleep(2 * grace)
	if cctx.Err() != nil {
		t.Fatal("a live run's commit was cancelled")
	}
	cancelLive() // Ctrl-C during the commit: grace starts now
	if cctx.Err() != nil {
		t.Fatal("the commit was cancelled at once")
	}
	select {
	case <-cctx.Done():
	case <-time.After(20 * grace):
		t.Fatal("the commit outlived the grace period")
	}
	done()

	cancelled, cancel := context.WithCancel(context.Background())
	cancel() // Ctrl-C before the commit
	cctx, done = commitContext(cancelled, grace)
	if cctx.Err() != nil {
		t.Fatal("a cancelled run's commit got no grace")
	}
	<-cctx.Done()
	done()

	cctx, done = commitContext(context.Background(), grace)
	done()
	if cctx.Err() == nil {
		t.Fatal("done does not release the commit context")
	}
}
