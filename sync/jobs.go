package sync

import (
	"context"

	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/sync/state"
)

// journalOf is the store's job journal for one sync (load.JobJournal), or
// nil when the store keeps none.
func journalOf(s state.Store, sync string) load.JobJournal {
	js, ok := s.(state.JobStore)
	if !ok {
		return nil
	}
	return &journal{s: js, sync: sync}
}

type journal struct {
	s    state.JobStore
	sync string
}

func (j *journal) PutJob(ctx context.Context, id string, data []byte) error {
	return j.s.PutJob(ctx, j.sync, id, data)
}

func (j *journal) Jobs(ctx context.Context) (map[string][]byte, error) { return j.s.Jobs(ctx, j.sync) }

func (j *journal) DeleteJobs(ctx context.Context, ids []string) error {
	return j.s.DeleteJobs(ctx, j.sync, ids)
}

// settle tells a writer that keeps jobs that its run's state is committed.
// A failure only leaves entries the next run reads and settles again.
func (u *syncRun) settle(ctx context.Context) {
	s, ok := u.w.(load.Settler)
	if !ok {
		return
	}
	if err := s.Settled(context.WithoutCancel(ctx)); err != nil {
		u.r.log().Warn("forget settled jobs", "sync", u.s.Name, "error", err)
	}
}
