package sync

import (
	"context"
	"fmt"
	"time"

	"github.com/hoist-dev/hoist/extract"
	"github.com/hoist-dev/hoist/sync/spec"
)

// RunAll runs the schedule's syncs, at most parallel at once (see
// schedule.go), and returns their reports in spec order, as a sequential
// run would, with the syncs an interrupt kept from starting. A skipped sync
// has a report of its own (Status "skipped", Error saying why), so that
// every selected sync that did not run for a reason other than the
// interrupt still has a line.
func (r *Runner) RunAll(ctx context.Context, sc *Schedule, parallel int) (reps []*Report, notStarted []*spec.Sync) {
	for i, s := range sc.syncs {
		for _, dep := range sc.Unselected[i] {
			r.log().Info("sync runs without waiting for a sync it runs after: --sync did not select it", "sync", s.Name, "after", dep)
		}
	}
	// one source per connection for the whole run (extract.Shared)
	shared := extract.NewShared()
	defer shared.Close()
	ctx = extract.WithShared(ctx, shared)
	byPos := make([]*Report, len(sc.syncs))
	run := func(ctx context.Context, i int) bool {
		rep := r.Run(ctx, sc.syncs[i])
		byPos[i] = rep
		return rep.Status == StatusOK || rep.Status == StatusPartial
	}
	skip := func(i, because int) {
		byPos[i] = r.skipped(sc.syncs[i], sc.syncs[because].Name, byPos[because])
	}
	// Exec returns once every run has: byPos is complete and ours again.
	out := sc.Exec(ctx, parallel, run, skip)
	for i, o := range out {
		if o == NotStarted {
			notStarted = append(notStarted, sc.syncs[i])
			continue
		}
		reps = append(reps, byPos[i])
	}
	return reps, notStarted
}

// skipped is the report of a sync not run because dep, which it runs
// after, failed or was skipped (depRep says which).
func (r *Runner) skipped(s *spec.Sync, dep string, depRep *Report) *Report {
	what := "failed"
	if depRep != nil && depRep.Status == StatusSkipped {
		what = "was skipped"
	}
	rep := &Report{Sync: s.Name, Mode: s.Destination.Mode, RunID: newRunID(time.Now()), Status: StatusSkipped,
		Error: fmt.Sprintf("skipped: it runs after %s, which %s; nothing was sent", dep, what)}
	r.log().Warn("sync skipped", "sync", s.Name, "run_id", rep.RunID, "status", rep.Status, "after", dep, "error", rep.Error)
	return rep
}

// PlanAll plans syncs, at most parallel at once, and returns their plans and
// errors in spec order (a nil plan where its error is set). Plans write
// nothing, so neither after nor shared objects order them; a plan the
// interrupt kept from starting has an error saying so.
func (r *Runner) PlanAll(ctx context.Context, syncs []*spec.Sync, parallel int) ([]*PlanReport, []error) {
	shared := extract.NewShared()
	defer shared.Close()
	ctx = extract.WithShared(ctx, shared)
	plans := make([]*PlanReport, len(syncs))
	errs := make([]error, len(syncs))
	out := independent(syncs).Exec(ctx, parallel, func(ctx context.Context, i int) bool {
		plans[i], errs[i] = r.Plan(ctx, syncs[i])
		return errs[i] == nil
	}, func(int, int) {})
	for i, o := range out {
		if o == NotStarted {
			errs[i] = fmt.Errorf("plan %s: interrupted before it started: %w", syncs[i].Name, context.Cause(ctx))
		}
	}
	return plans, errs
}
