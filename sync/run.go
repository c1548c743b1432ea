package sync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	stdsync "sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/hoist-dev/hoist/extract"
	"github.com/hoist-dev/hoist/internal/txjoin"
	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/sync/diff"
	"github.com/hoist-dev/hoist/sync/spec"
	"github.com/hoist-dev/hoist/sync/state"
)

// commitTimeout bounds the state commit once the run is cancelled: the
// commit still records what was acknowledged after Ctrl-C, but not forever.
const commitTimeout = 30 * time.Second

// commitContext is the state commit's context. It outlives ctx's
// cancellation by grace at most; while ctx is live it has no
// deadline, since compacting a large snapshot may take longer than any fixed
// bound, and a commit cut short would make the next run redo this one.
func commitContext(ctx context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var (
		mu    stdsync.Mutex
		timer *time.Timer
	)
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		timer = time.AfterFunc(grace, cancel)
		mu.Unlock()
	})
	return cctx, func() {
		stop()
		mu.Lock()
		if timer != nil {
			timer.Stop()
		}
		mu.Unlock()
		cancel()
	}
}

// Run executes one sync and returns its report; a failed sync has Status
// "failed" and Error set.
func (r *Runner) Run(ctx context.Context, s *spec.Sync) *Report {
	start := time.Now()
	rep := &Report{Sync: s.Name, Mode: s.Destination.Mode, RunID: newRunID(start)}
	err := r.run(ctx, s, rep, start)
	rep.DurationMS = time.Since(start).Milliseconds()
	switch {
	case err != nil && ctx.Err() != nil:
		rep.Status, rep.Error = StatusFailed, interrupted(rep)
	case err != nil:
		rep.Status, rep.Error = StatusFailed, err.Error()
	case rep.Rejected > 0:
		rep.Status = StatusPartial
	default:
		rep.Status = StatusOK
	}
	lg := r.log().With("sync", s.Name, "run_id", rep.RunID, "status", rep.Status, "rows", rep.RowsRead, "delivered", rep.Delivered, "rejected", rep.Rejected, "duration_ms", rep.DurationMS)
	if err != nil && ctx.Err() != nil {
		lg.Warn("sync interrupted", "committed", rep.Committed, "unacknowledged", rep.unacked, "error", err)
	} else if err != nil {
		lg.Error("sync failed", "error", err)
	} else {
		lg.Info("sync finished")
	}
	return rep
}

func (r *Runner) run(ctx context.Context, s *spec.Sync, rep *Report, start time.Time) (err error) {
	lock, err := r.Store.Lock(ctx, s.Name, r.Opt.LockTimeout)
	if err != nil {
		return err
	}
	defer lock.Release()
	st, err := r.Store.Get(ctx, s.Name)
	if err != nil {
		return fmt.Errorf("read state: %w", err)
	}
	rep.CursorBefore = st.Cursor.String()
	o, err := r.openSync(ctx, s, st)
	if err != nil {
		return err
	}
	for _, warn := range o.warnings {
		r.log().Warn(warn, "sync", s.Name)
	}
	if o.x == nil {
		return r.commitQuiet(ctx, s, st, rep, start)
	}
	x, id, chg := o.x, o.id, o.chg
	defer x.close()
	if x.noSnapshot {
		// The state is another target's: forget it before sending, so
		// that what this run commits is all the new target's.
		r.log().Info("state identity changed; --full-refresh forgets the old state", "sync", s.Name)
		if err := r.Store.Reset(ctx, s.Name); err != nil {
			return fmt.Errorf("forget the old target's state: %w", err)
		}
		if st, err = r.Store.Get(ctx, s.Name); err != nil {
			return fmt.Errorf("read state: %w", err)
		}
	}
	dst, w, err := r.openDestination(ctx, s, x)
	if err != nil {
		return err
	}
	defer dst.Close()
	tmp, err := r.tempDir()
	if err != nil {
		w.Abort(context.WithoutCancel(ctx))
		return err
	}
	defer os.RemoveAll(tmp)

	mode := ModeOf(s.Destination.Mode)
	rejects := &rejectFile{path: r.rejectPath(s), runID: rep.RunID}
	stage := &loadStage{
		w: w, workers: r.workers(s, w), acks: newAcks(), cursors: x.cursors, rejects: rejects,
		maxReject: -1, sync: s.Name, log: r.log(),
	}
	defer func() { rep.unacked = max(stage.sent.Load()-rep.Delivered-stage.acks.rejects, 0) }()
	if s.OnReject.MaxRejected != nil {
		stage.maxReject = int64(*s.OnReject.MaxRejected)
	}
	if r.Opt.Progress != nil {
		stage.progress = r.Opt.Progress(s.Name)
		defer stage.progress.Finish()
	}

	// With a Postgres destination in the state store's own database, the
	// last batch is held back and written with the state commit in one
	// transaction: both land or neither does.
	var (
		final *outBatch
		joint = r.jointCommit(mode, w)
	)
	if joint {
		r.log().Debug("state commits in the last batch's transaction", "sync", s.Name)
	}
	hold := func(send func(*outBatch) error) func(*outBatch) error {
		if !joint {
			return send
		}
		return func(b *outBatch) error {
			prev := final
			final = b
			if prev == nil {
				return nil
			}
			return send(prev)
		}
	}

	var (
		cs      *changeset
		refresh *refreshCommit
		loadErr error
		nullKey int64
	)
	if mode.Keyed {
		cs, err = newChangeset(tmp)
		if err != nil {
			w.Abort(context.WithoutCancel(ctx))
			return err
		}
		defer cs.close()
		if r.Opt.Refresh {
			if refresh, err = newRefreshCommit(r, s, tmp); err != nil {
				w.Abort(context.WithoutCancel(ctx))
				return err
			}
			defer refresh.close()
		}
		res, err := r.runDiff(ctx, s, x, tmp, func(e diff.Event) error {
			if refresh != nil {
				if err := refresh.record(e); err != nil {
					return err
				}
			}
			if !mode.Sends(e.Kind, r.Opt.FullRefresh, r.Opt.Refresh) {
				return nil
			}
			return cs.add(e.Kind, e.Key, e.New, e.Aux)
		})
		if err != nil {
			w.Abort(context.WithoutCancel(ctx))
			return err
		}
		if n := r.unsentAdds(mode, res); n > 0 {
			r.log().Warn("source keys missing from the destination are not inserted in mode update", "sync", s.Name, "rows", n)
		}
		rep.counts = tally(mode, r.Opt.FullRefresh, res)
		r.log().Debug("diff done", "sync", s.Name, "rows", x.read, "added", res.added, "changed", res.changed,
			"removed", res.removed, "duration_ms", time.Since(start).Milliseconds())
		for i, line := range res.nullKeys {
			if err := rejects.write(line); err != nil {
				w.Abort(context.WithoutCancel(ctx))
				return err
			}
			if i < len(res.nullKeyCursors) {
				x.cursors.unackedValue(res.nullKeyCursors[i])
			}
		}
		nullKey = int64(len(res.nullKeys))
		stage.nullKeys = nullKey
		if !r.Opt.AllowMassDelete {
			if err := massDelete(mode, s, res.removed, r.baseRows(st, res)); err != nil {
				w.Abort(context.WithoutCancel(ctx))
				return err
			}
		}
		if stage.progress != nil {
			stage.progress.Total(cs.count)
		}
		loadErr = stage.run(ctx, func(ctx context.Context, send func(*outBatch) error) error {
			return r.produceChanges(ctx, s, mode, x, cs, hold(send))
		})
	} else {
		loadErr = stage.run(ctx, func(ctx context.Context, send func(*outBatch) error) error {
			return r.produceStream(ctx, s, mode, x, hold(send))
		})
		rep.Added = x.read
	}
	rep.RowsRead = x.read

	f := &finisher{r: r, s: s, mode: mode, st: st, x: x, cs: cs, refresh: refresh, stage: stage, rep: rep, nullKey: nullKey, start: start, id: id,
		reread: len(chg.reread) > 0 && !chg.refused}
	var commit *state.Commit
	if final != nil {
		if loadErr == nil && ctx.Err() == nil {
			stage.phase("committing state")
			commit, loadErr = f.writeFinal(ctx, w.(load.StateJoiner), final)
			if commit != nil && commit.Run.Status == StatusFailed {
				loadErr = errors.New(commit.Run.Error) // past max_rejected
			}
		} else {
			stage.unacked(final)
		}
		final.release()
	}
	if closeErr := rejects.close(); closeErr != nil && loadErr == nil {
		loadErr = closeErr
	}

	// Finish the destination: commit after success, abort otherwise.
	if loadErr == nil {
		if err := w.Commit(ctx); err != nil {
			loadErr = fmt.Errorf("commit %s: %w", s.Destination.Connection, err)
			// a replace that did not commit delivered nothing
			if !mode.AbortKeepsAcked() {
				stage.acks = newAcks()
			}
		}
	} else {
		w.Abort(context.WithoutCancel(ctx))
		if !mode.AbortKeepsAcked() {
			stage.acks = newAcks()
		}
	}

	if err := stage.lateNotHeld(); err != nil && loadErr == nil {
		loadErr = err
	}

	// Commit state for what was acknowledged, even after a failure or Ctrl-C,
	// unless the final batch's transaction already did.
	if commit != nil {
		rep.Committed = rep.Delivered
	} else {
		if commit, loadErr, err = f.commit(ctx, loadErr); err != nil {
			return errors.Join(loadErr, err)
		}
		if errors.Is(loadErr, state.ErrLockLost) {
			return loadErr // every commit fails so: once is enough to say
		}
		stage.phase("committing state")
		cctx, cancel := commitContext(ctx, commitTimeout)
		defer cancel()
		began := time.Now()
		if err := r.Store.Commit(cctx, s.Name, commit); err != nil {
			return errors.Join(loadErr, fmt.Errorf("commit state: %w", err))
		}
		rep.Committed = rep.Delivered
		r.log().Debug("state committed", "sync", s.Name, "duration_ms", time.Since(began).Milliseconds())
	}
	rep.CursorAfter = commit.Cursor.String()
	if commit.Cursor == nil {
		rep.CursorAfter = rep.CursorBefore
	}
	return loadErr
}

// commitQuiet records a run that found nothing to read: no destination is
// opened (there is no schema to open it with) and the cursor stays.
func (r *Runner) commitQuiet(ctx context.Context, s *spec.Sync, st *state.SyncState, rep *Report, start time.Time) error {
	r.log().Info("the source returned no rows since the cursor", "sync", s.Name, "cursor", rep.CursorBefore)
	rep.CursorAfter = rep.CursorBefore
	cctx, cancel := commitContext(ctx, commitTimeout)
	defer cancel()
	c := &state.Commit{Run: state.Run{Mode: s.Destination.Mode, StartedAt: start.UTC(), DurationMS: time.Since(start).Milliseconds(),
		Status: StatusOK, CursorBefore: st.Cursor, CursorAfter: st.Cursor}}
	if err := r.Store.Commit(cctx, s.Name, c); err != nil {
		return fmt.Errorf("commit state: %w", err)
	}
	return nil
}

// jointCommit reports whether the state can commit in the transaction of
// the run's last batch: the mode allows it, the writer can run the commit in
// a batch's transaction, and the store says the writer's database is its
// own.
func (r *Runner) jointCommit(mode Mode, w load.Writer) bool {
	lw, ok := w.(load.StateJoiner)
	tj, joins := r.Store.(state.TxJoiner)
	return ok && joins && mode.JointCommit() && tj.Joins(lw.JoinTarget())
}

// finisher computes a run's totals and state commit, at the end of the run
// or inside the last batch's transaction.
type finisher struct {
	r       *Runner
	s       *spec.Sync
	mode    Mode
	st      *state.SyncState
	x       *extraction
	cs      *changeset
	refresh *refreshCommit // set by --refresh
	stage   *loadStage
	rep     *Report
	nullKey int64
	start   time.Time
	id      *state.Identity
	reread  bool // the source or schema changed: the whole source was read
}

// commit fills the report's totals and builds the state commit; loadErr is
// the run's failure so far, returned possibly joined with max_rejected.
func (f *finisher) commit(ctx context.Context, loadErr error) (*state.Commit, error, error) {
	s, st, rep, stage := f.s, f.st, f.rep, f.stage
	rep.Rejected = stage.acks.rejects + f.nullKey
	if rep.Rejected > 0 {
		rep.RejectedFile = stage.rejects.path
	}
	rep.Delivered = stage.acks.rows
	rep.NotHeld = stage.acks.absent
	if stage.maxReject >= 0 && rep.Rejected > stage.maxReject && (loadErr == nil || errors.Is(loadErr, errTooManyRejected)) {
		// the count of the report, not the loader's when it stopped
		loadErr = tooManyRejected(rep.Rejected, stage.maxReject)
	}
	complete := loadErr == nil && ctx.Err() == nil
	var cursorAfter *extract.Cursor
	// A run that re-read the whole source (--full-refresh, --refresh, or a changed
	// source or schema) computes its cursor afresh: the old one may belong
	// to another source.
	fullRead := f.r.readsAll() || f.reread
	identity := f.id
	if s.Source.Cursor != "" {
		before := st.Cursor
		if fullRead {
			before = nil
		}
		cursorAfter = f.x.cursors.commit(before, complete)
		rolledBack := !f.mode.AbortKeepsAcked() && !complete
		if ctx.Err() != nil || rolledBack || (fullRead && !complete) {
			cursorAfter = st.Cursor // a cancelled or rolled-back run never moves the cursor
			if f.reread {
				identity = nil // and the next run re-reads the whole source again
			}
		}
	}
	c := &state.Commit{Cursor: cursorAfter, Identity: identity, Run: state.Run{
		Mode: s.Destination.Mode, StartedAt: f.start.UTC(), DurationMS: time.Since(f.start).Milliseconds(), RowsRead: rep.RowsRead,
		Delivered: rep.Delivered, Rejected: rep.Rejected, CursorBefore: st.Cursor, CursorAfter: cursorAfter,
	}}
	c.Run.Status = StatusOK
	if loadErr != nil {
		c.Run.Status, c.Run.Error = StatusFailed, loadErr.Error()
	} else if rep.Rejected > 0 {
		c.Run.Status = StatusPartial
	}
	if f.cs != nil && stage.acks.batches > 0 {
		d, err := f.r.delta(s, f.mode, f.cs, stage.acks)
		if err != nil {
			return nil, loadErr, err
		}
		c.Delta = d
	}
	if f.refresh != nil {
		d, err := f.refresh.delta(ctx, c.Delta)
		if err != nil {
			return nil, loadErr, err
		}
		c.Delta = d
	}
	return c, loadErr, nil
}

// writeFinal writes the held-back last batch and, in its transaction, the
// state commit. If that transaction fails, the bookkeeping is restored and
// the error returned, and the run commits its state on its own.
func (f *finisher) writeFinal(ctx context.Context, fw load.StateJoiner, b *outBatch) (*state.Commit, error) {
	saved := f.stage.save()
	tc := f.r.Store.(state.TxJoiner)
	var commit *state.Commit
	begin := time.Now()
	_, err := fw.WriteFinal(ctx, b.Batch, func(ctx context.Context, tx txjoin.Tx, res load.Result) error {
		if err := f.stage.record(b, res, begin); err != nil {
			return err
		}
		c, runErr, err := f.commit(ctx, nil)
		if err != nil {
			return err
		}
		if runErr != nil {
			c.Run.Status, c.Run.Error = StatusFailed, runErr.Error()
		}
		if err := tc.CommitTx(ctx, tx, f.s.Name, c); err != nil {
			return err
		}
		commit = c
		return nil
	})
	if err != nil {
		f.stage.restore(saved)
		f.stage.unacked(b)
		return nil, fmt.Errorf("final batch, with the state commit: %w", err) // err names the batch
	}
	return commit, nil
}

// workers is how many loaders run at once.
func (r *Runner) workers(s *spec.Sync, w load.Writer) int {
	n := s.Concurrency
	if r.Opt.Concurrency > 0 {
		n = r.Opt.Concurrency
	}
	if c := w.Concurrency(); c > 0 && c < n {
		n = c
	}
	return max(n, 1)
}

// produceStream sends every extracted row (modes append and replace) in
// batch_size slices of the mapped records.
func (r *Runner) produceStream(ctx context.Context, s *spec.Sync, mode Mode, x *extraction, send func(*outBatch) error) error {
	seq := 0
	for {
		rec, cur, err := x.next(ctx)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		n := rec.NumRows()
		for off := int64(0); off < n; off += int64(s.BatchSize) {
			end := min(off+int64(s.BatchSize), n)
			b := &outBatch{Batch: load.Batch{Seq: seq, Op: mode.Write, Record: rec.NewSlice(off, end)}, keyIdx: x.keyIdx}
			if cur != nil {
				b.cursors = array.NewSlice(cur, off, end)
			}
			seq++
			if err := send(b); err != nil {
				rec.Release()
				if cur != nil {
					cur.Release()
				}
				return err
			}
		}
		rec.Release()
		if cur != nil {
			cur.Release()
		}
	}
}

// batchState is a batch being built from the changeset.
type batchState struct {
	rb  *array.RecordBuilder
	cur array.Builder
}

// produceChanges builds batches from the changeset in key order.
func (r *Runner) produceChanges(ctx context.Context, s *spec.Sync, mode Mode, x *extraction, cs *changeset, send func(*outBatch) error) error {
	full, keys := x.mappedSchema(), x.keySchema()
	var curType arrow.DataType
	if x.curIdx >= 0 {
		curType = x.rdr.Schema().Field(x.curIdx).Type
	}
	keyIdx := make([]int, len(x.keyIdx))
	for i := range keyIdx {
		keyIdx[i] = i
	}
	bt := newBatcher(s.BatchSize, func(p *pending) error {
		st := p.data.(*batchState)
		rec := st.rb.NewRecord()
		st.rb.Release()
		b := &outBatch{Batch: load.Batch{Seq: p.seq, Op: p.op, Record: rec}, keyIdx: x.keyIdx}
		if p.op == load.OpDelete {
			b.keyIdx = keyIdx
		}
		if st.cur != nil {
			b.cursors = st.cur.NewArray()
			st.cur.Release()
		}
		return send(b)
	})
	rd, err := cs.reader()
	if err != nil {
		return err
	}
	for rd.next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		ch := &rd.ch
		op := mode.Op(ch.kind)
		p, _ := bt.place(op, func(p *pending) {
			schema := full
			if op == load.OpDelete {
				schema = keys
			}
			st := &batchState{rb: array.NewRecordBuilder(x.alloc, schema)}
			if curType != nil && op != load.OpDelete {
				st.cur = array.NewBuilder(x.alloc, curType)
			}
			p.data = st
		})
		st := p.data.(*batchState)
		if err := appendChange(st, op, ch); err != nil {
			return fmt.Errorf("build batch %d: key %s: %w", p.seq, diff.KeyString(ch.key), err)
		}
		if err := bt.fill(p); err != nil {
			return err
		}
	}
	if rd.err != nil {
		return rd.err
	}
	return bt.flush()
}

// appendChange decodes one change into a batch's builders.
func appendChange(st *batchState, op load.Op, ch *change) error {
	if op == load.OpDelete {
		parts, err := diff.DecodeKey(ch.key)
		if err != nil {
			return err
		}
		for i, text := range parts {
			if err := st.rb.Field(i).AppendValueFromString(text); err != nil {
				return fmt.Errorf("key field %s: %w", st.rb.Schema().Field(i).Name, err)
			}
		}
		return nil
	}
	if err := diff.AppendRow(st.rb, ch.row); err != nil {
		return err
	}
	if st.cur != nil {
		if len(ch.aux) == 0 {
			st.cur.AppendNull()
		} else if err := diff.AppendValueTo(st.cur, ch.aux); err != nil {
			return fmt.Errorf("cursor: %w", err)
		}
	}
	return nil
}

// delta replays the changeset with the batch numbering of produceChanges and
// yields the acknowledged changes, in key order, for the state commit.
func (r *Runner) delta(s *spec.Sync, mode Mode, cs *changeset, a *acks) (state.Iterator, error) {
	rd, err := cs.reader()
	if err != nil {
		return nil, err
	}
	bt := newBatcher(s.BatchSize, nil)
	return &deltaIter{rd: rd, bt: bt, acks: a, mode: mode}, nil
}

type deltaIter struct {
	rd     *changesetReader
	bt     *batcher
	acks   *acks
	mode   Mode
	cur    state.Entry
	change int64 // keys added less keys removed, so far
}

var _ state.RowCounter = (*deltaIter)(nil)

func (d *deltaIter) Next() bool {
	for d.rd.next() {
		ch := &d.rd.ch
		p, row := d.bt.place(d.mode.Op(ch.kind), nil)
		d.bt.fill(p)
		if !d.acks.delivered(p.seq, row) {
			continue
		}
		d.cur = state.Entry{Key: ch.key, Row: ch.row}
		switch ch.kind {
		case diff.Remove:
			d.cur.Row = nil
			d.change--
		case diff.Add:
			d.change++
		}
		return true
	}
	return false
}

// RowChange implements state.RowCounter: the diff classified every key
// against the snapshot this run holds the lock on.
func (d *deltaIter) RowChange() int64 { return d.change }

func (d *deltaIter) Entry() state.Entry { return d.cur }
func (d *deltaIter) Err() error         { return d.rd.err }
func (d *deltaIter) Close() error       { return nil }
