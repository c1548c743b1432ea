package sync

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/sync/spec"
	"github.com/hoist-dev/hoist/sync/state"
)

// A run goes through five stages, one file each, in this order:
//
//	stage_extract.go  read the state, open the source past the cursor, map records
//	stage_diff.go     encode keys and rows, classify them against the snapshot
//	                  (keyed modes); stage_firstload.go when the snapshot is empty
//	stage_batch.go    build the changes (or slice the extracted rows) into
//	                  batches of one op each, sent as the diff finds them
//	stage_load.go     load the batches concurrently, book every answer
//	stage_commit.go   finish the destination, commit state for what was
//	                  acknowledged
//
// What each mode does at each stage is in mode.go.

// Run executes one sync and returns its report; a failed sync has Status
// "failed" and Error set.
func (r *Runner) Run(ctx context.Context, s *spec.Sync) *Report {
	start := time.Now()
	rep := &Report{Sync: s.Name, Shard: r.layout(s).String(), Mode: s.Destination.Mode, RunID: newRunID(start)}
	err := r.run(ctx, s, rep, start)
	rep.DurationMS = time.Since(start).Milliseconds()
	switch {
	case err != nil && ctx.Err() != nil:
		rep.Status, rep.Error = StatusFailed, interrupted(rep)
	case budgetStop(err):
		rep.Status, rep.Stopped = StatusPartial, err.Error()
	case err != nil:
		rep.Status, rep.Error = StatusFailed, err.Error()
	case rep.Rejected > 0 || rep.Stopped != "":
		rep.Status = StatusPartial
	default:
		rep.Status = StatusOK
	}
	lg := r.log().With("sync", s.Name, "run_id", rep.RunID, "status", rep.Status, "rows", rep.RowsRead, "delivered", rep.Delivered, "rejected", rep.Rejected, "duration_ms", rep.DurationMS)
	if err != nil && ctx.Err() != nil {
		lg.Warn("sync interrupted", "committed", rep.Committed, "unacknowledged", rep.unacked, "error", err)
	} else if budgetStop(err) {
		lg.Warn("sync stopped: the daily request budget is spent; the next run sends the rest", "committed", rep.Committed, "reason", err)
	} else if err != nil {
		lg.Error("sync failed", "error", err)
	} else {
		lg.Info("sync finished")
	}
	return rep
}

func (r *Runner) run(ctx context.Context, s *spec.Sync, rep *Report, start time.Time) error {
	name := r.stateName(s)
	lock, err := r.Store.Lock(ctx, name, r.Opt.LockTimeout)
	if err != nil {
		return err
	}
	defer lock.Release()
	u := &syncRun{r: r, s: s, name: name, mode: ModeOf(s.Destination.Mode), rep: rep, start: start}
	defer u.close()

	if err := u.extract(ctx); err != nil {
		return err
	}
	if u.x == nil {
		return u.commitQuiet(ctx) // nothing new to read: no destination to open
	}
	if err := u.openDestination(ctx); err != nil {
		return err
	}
	loadErr := u.load(ctx, u.batches) // the diff and batch stages feed the loaders
	if err := u.commit(ctx, loadErr); err != nil {
		return err
	}
	if u.layout != nil {
		// the new layout's state is committed: the old one's leftovers go
		return r.forgetOrphans(ctx, s, u.layout)
	}
	return nil
}

// syncRun is one run of one sync on its way through the stages: each stage
// fills in what the next one reads.
type syncRun struct {
	r     *Runner
	s     *spec.Sync
	name  string // the sync's state in the store (stateName)
	mode  Mode
	rep   *Report
	start time.Time

	// extract
	st     *state.SyncState // the state the run started from
	x      *extraction
	id     *state.Identity // recorded with the state commit
	reread bool            // the source or schema changed: the whole source was read
	layout *layoutChange   // --reshard: the shard layout changed (shard.go)

	// the destination, opened before the diff
	dst     load.Destination
	w       load.Writer
	tmp     string // spills: sorter runs, changesets
	rejects *rejectFile
	stage   *loadStage
	joint   bool            // the state commits in the last batch's transaction
	needs   load.BatchNeeds // what the writer needs beyond rows (batch_extras.go)

	limits load.BatchLimits // where batches are cut

	// diff (keyed modes): the changes sent, logged for the commit
	cs      *changeset
	removes *changeset
	first   *firstLoadRun  // a first load skips the diff (stage_firstload.go)
	refresh *refreshCommit // --refresh
	nullKey int64          // rows rejected for a NULL key

	// batch: the last batch, held back for the joint commit
	final *outBatch
}

// openDestination opens the destination's writer for the mapped schema, the
// temp folder and the load stage, and decides whether the state commits
// with the last batch. It comes before the diff, so that a destination that
// cannot take the mapped rows fails the run before the source is sorted.
func (u *syncRun) openDestination(ctx context.Context) error {
	r, s := u.r, u.s
	conn := r.File.Connections[s.Destination.Connection]
	dst, err := load.Open(ctx, conn, r.File.Dir)
	if err != nil {
		return err
	}
	w, err := dst.Open(ctx, load.Target{
		Sync: s.Name, RunID: u.rep.RunID, Dest: &s.Destination, Schema: u.x.mappedSchema(), Alloc: r.alloc(),
		Logger: r.log().With("sync", s.Name), Ledger: ledgerOf(r.Store), Jobs: journalOf(r.Store, s.Name),
	})
	if err != nil {
		dst.Close()
		return fmt.Errorf("open %s: %w", s.Destination.Connection, err)
	}
	u.dst, u.w = dst, w
	u.mode = routed(u.mode, w)
	u.needs = load.NeedsOf(w)
	if u.tmp, err = r.tempDir(); err != nil {
		w.Abort(context.WithoutCancel(ctx))
		return err
	}
	if u.x.wh != nil && u.needs != (load.BatchNeeds{}) {
		w.Abort(context.WithoutCancel(ctx))
		return r.File.Problem(s.Field()+".diff", "diff: warehouse keeps no rows or record IDs, which destination %s needs (it patches changed fields or addresses records by ID): use the client diff", s.Destination.Connection)
	}
	u.limits = batchLimits(s, w)
	u.rejects = &rejectFile{path: r.rejectPath(s), runID: u.rep.RunID}
	u.stage = newLoadStage(r, s, w, u.x.cursors, u.rejects, u.tmp)
	// With a destination in the state store's own database, the last batch
	// is held back and written with the state commit in one transaction:
	// both land or neither does.
	if u.joint = r.jointCommit(u.mode, w) && u.x.wh == nil; u.joint {
		r.log().Debug("state commits in the last batch's transaction", "sync", s.Name)
	}
	return nil
}

// close releases what the stages opened, last opened first.
func (u *syncRun) close() {
	if u.refresh != nil {
		u.refresh.close()
	}
	for _, cs := range []*changeset{u.cs, u.removes} {
		if cs != nil {
			cs.close()
		}
	}
	if u.first != nil {
		u.first.close()
	}
	if u.stage != nil {
		if u.stage.progress != nil {
			u.stage.progress.Finish()
		}
		u.rep.unacked = max(u.stage.sent.Load()-u.rep.Delivered-u.stage.acks.rejects, 0)
		if u.stage.acks.ids != nil {
			u.stage.acks.ids.close()
		}
	}
	if u.tmp != "" {
		os.RemoveAll(u.tmp)
	}
	if u.dst != nil {
		u.dst.Close()
	}
	if u.x != nil {
		u.x.close()
	}
}

func (r *Runner) tempDir() (string, error) {
	dir, err := os.MkdirTemp(r.Opt.TempDir, "hoist-*")
	if err != nil {
		return "", fmt.Errorf("create temp folder: %w", err)
	}
	return dir, nil
}

func (r *Runner) rejectPath(s *spec.Sync) string {
	p := s.OnReject.File
	if p == "" {
		p = filepath.Join("rejected", s.Name+".jsonl")
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(r.File.Dir, p)
	}
	return p
}
