package sync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	stdsync "sync"
	"time"

	"github.com/hoist-dev/hoist/internal/cursor"
	"github.com/hoist-dev/hoist/internal/txjoin"
	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/sync/diff"
	"github.com/hoist-dev/hoist/sync/state"
)

// Stage 5 of a run (see run.go): commit. The destination is committed (or
// aborted), and the state records what was acknowledged: the cursor below
// every unacknowledged row, the snapshot delta of the acknowledged changes,
// the run's history line. With a destination in the state store's database
// the last batch and the state commit share one transaction.

// commit finishes the run once loading stopped, loadErr its failure so far:
// the held-back last batch written with the state (a joint commit), the
// rejected-rows file closed, the destination committed or aborted, then the
// state committed for what was acknowledged, even after a failure or
// Ctrl-C, unless the last batch's transaction already did.
func (u *syncRun) commit(ctx context.Context, loadErr error) error {
	var commit *state.Commit
	if u.final != nil {
		commit, loadErr = u.commitFinal(ctx, loadErr)
	}
	if err := u.rejects.close(); err != nil && loadErr == nil {
		loadErr = err
	}
	loadErr = u.finishDestination(ctx, loadErr)
	if err := u.stage.lateNotHeld(); err != nil && loadErr == nil {
		loadErr = err
	}
	if errors.Is(loadErr, errFirstLoadDuplicate) {
		// the final batch's transaction met a duplicate key: the batch
		// was not delivered, and the run fails as a diff would have
		loadErr = u.duplicateKey()
	}
	if commit == nil {
		var err error
		if commit, loadErr, err = u.newCommit(ctx, loadErr); err != nil {
			return errors.Join(loadErr, err)
		}
		if errors.Is(loadErr, state.ErrLockLost) {
			return loadErr // every commit fails so: once is enough to say
		}
		err = u.commitState(ctx, commit)
		if errors.Is(err, errFirstLoadDuplicate) {
			// a first load met a duplicate key (stage_firstload.go):
			// commit what was delivered, and fail as a diff would have
			if commit, loadErr, err = u.newCommit(ctx, errors.Join(loadErr, u.duplicateKey())); err != nil {
				return errors.Join(loadErr, err)
			}
			err = u.commitState(ctx, commit)
		}
		if err != nil {
			return errors.Join(loadErr, err)
		}
	}
	u.rep.Committed = u.rep.Delivered
	u.settle(ctx)
	u.rep.CursorAfter = commit.Cursor.String()
	if commit.Cursor == nil {
		u.rep.CursorAfter = u.rep.CursorBefore
	}
	return loadErr
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

// commitFinal writes the held-back last batch with the state commit, in one
// transaction, if the run got that far without a failure; otherwise the
// batch stays unacknowledged. A commit past max_rejected fails the run.
func (u *syncRun) commitFinal(ctx context.Context, loadErr error) (*state.Commit, error) {
	defer u.final.release()
	if loadErr != nil || ctx.Err() != nil {
		u.stage.unacked(u.final)
		return nil, loadErr
	}
	u.stage.phase("committing state")
	commit, err := u.writeFinal(ctx, u.w.(load.StateJoiner), u.final)
	if commit != nil && commit.Run.Status == StatusFailed {
		err = errors.New(commit.Run.Error) // past max_rejected
	}
	return commit, err
}

// writeFinal writes the held-back last batch and, in its transaction, the
// state commit. If that transaction fails, the bookkeeping is restored and
// the error returned, and the run commits its state on its own.
func (u *syncRun) writeFinal(ctx context.Context, fw load.StateJoiner, b *outBatch) (*state.Commit, error) {
	saved := u.stage.save()
	tj := u.r.Store.(state.TxJoiner)
	var commit *state.Commit
	begin := time.Now()
	_, err := fw.WriteFinal(ctx, b.Batch, func(ctx context.Context, tx txjoin.Tx, res load.Result) error {
		if err := u.stage.record(b, res, begin); err != nil {
			return err
		}
		c, runErr, err := u.newCommit(ctx, nil)
		if err != nil {
			return err
		}
		if runErr != nil {
			c.Run.Status, c.Run.Error = StatusFailed, runErr.Error()
		}
		if err := tj.CommitTx(ctx, tx, u.name, c); err != nil {
			return err
		}
		commit = c
		return nil
	})
	if err != nil {
		u.stage.restore(saved)
		u.stage.unacked(b)
		return nil, fmt.Errorf("final batch, with the state commit: %w", err) // err names the batch
	}
	return commit, nil
}

// bookkeeping is a copy of what record changes, to undo it when the
// transaction a final batch was recorded in does not commit.
type bookkeeping struct {
	done          []uint64
	rejected      map[int]map[int]bool
	notHeld       map[int]map[int]bool
	ids           map[int]idSpan
	rows, rejects int64
	absent        int64
	batches       int
	ackedValues   []cursor.Cursor
	minUnacked    *cursor.Cursor
}

func (l *loadStage) save() bookkeeping {
	l.acks.mu.Lock()
	defer l.acks.mu.Unlock()
	k := bookkeeping{
		done: slices.Clone(l.acks.done), rejected: maps.Clone(l.acks.rejected), notHeld: maps.Clone(l.acks.notHeld),
		rows: l.acks.rows, rejects: l.acks.rejects, absent: l.acks.absent, batches: l.acks.batches,
		ackedValues: slices.Clone(l.cursors.ackedValues), minUnacked: l.cursors.minUnacked,
	}
	if l.acks.ids != nil {
		k.ids = l.acks.ids.saveSpans()
	}
	return k
}

func (l *loadStage) restore(k bookkeeping) {
	l.acks.mu.Lock()
	defer l.acks.mu.Unlock()
	l.acks.done, l.acks.rejected, l.acks.notHeld = k.done, k.rejected, k.notHeld
	if l.acks.ids != nil {
		l.acks.ids.restoreSpans(k.ids)
	}
	l.acks.rows, l.acks.rejects, l.acks.absent, l.acks.batches = k.rows, k.rejects, k.absent, k.batches
	l.cursors.ackedValues, l.cursors.minUnacked = k.ackedValues, k.minUnacked
}

// finishDestination commits the destination after a clean load and aborts
// it otherwise. In a mode whose abort undoes every batch (replace), nothing
// was delivered then.
func (u *syncRun) finishDestination(ctx context.Context, loadErr error) error {
	if loadErr == nil {
		if err := u.w.Commit(ctx); err != nil {
			loadErr = fmt.Errorf("commit %s: %w", u.s.Destination.Connection, err)
		}
	} else {
		u.w.Abort(context.WithoutCancel(ctx))
	}
	if loadErr != nil && !u.mode.AbortKeepsAcked() {
		u.stage.acks = newAcks()
	}
	return loadErr
}

// newCommit fills the report's totals and builds the state commit; loadErr is
// the run's failure so far, returned possibly joined with max_rejected.
func (u *syncRun) newCommit(ctx context.Context, loadErr error) (*state.Commit, error, error) {
	s, st, rep, stage := u.s, u.st, u.rep, u.stage
	rep.Rejected = stage.acks.rejects + u.nullKey
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
	var cursorAfter *cursor.Cursor
	// A run that re-read the whole source (--full-refresh, --refresh, or a changed
	// source or schema) computes its cursor afresh: the old one may belong
	// to another source.
	fullRead := u.r.readsAll() || u.reread
	identity := u.id
	if s.Source.Cursor != "" {
		before := st.Cursor
		if fullRead {
			before = nil
		}
		cursorAfter = u.x.cursors.commit(before, complete)
		rolledBack := !u.mode.AbortKeepsAcked() && !complete
		if ctx.Err() != nil || rolledBack || (fullRead && !complete) {
			cursorAfter = st.Cursor // a cancelled or rolled-back run never moves the cursor
			if u.reread {
				identity = nil // and the next run re-reads the whole source again
			}
		}
	}
	c := &state.Commit{Cursor: cursorAfter, Identity: identity, Run: state.Run{
		Mode: s.Destination.Mode, StartedAt: u.start.UTC(), DurationMS: time.Since(u.start).Milliseconds(), RowsRead: rep.RowsRead,
		Delivered: rep.Delivered, Rejected: rep.Rejected, CursorBefore: st.Cursor, CursorAfter: cursorAfter,
	}}
	c.Run.Status = StatusOK
	if budgetStop(loadErr) {
		c.Run.Status, c.Run.Error = StatusPartial, loadErr.Error()
	} else if loadErr != nil {
		c.Run.Status, c.Run.Error = StatusFailed, loadErr.Error()
	} else if rep.Rejected > 0 {
		c.Run.Status = StatusPartial
	}
	if stage.acks.pending > 0 && c.Run.Status != StatusFailed {
		c.Run.Status = StatusPartial
		rep.Stopped = fmt.Sprintf("%d row(s) taken by the destination were left unprocessed (a Bulk API job ended before them); the next run sends them", stage.acks.pending)
	}
	if (u.cs != nil || u.first != nil) && stage.acks.batches > 0 && u.x.wh == nil {
		d, err := u.delta()
		if err != nil {
			return nil, loadErr, err
		}
		c.Delta = d
	}
	if u.refresh != nil {
		d, err := u.refresh.delta(ctx, c.Delta)
		if err != nil {
			return nil, loadErr, err
		}
		c.Delta = d
	}
	return c, loadErr, nil
}

// delta yields the acknowledged changes, in key order, for the state
// commit: the changes sent and the deletes sent, as logged with the batch
// and row each went out as, merged by key (a key is in one list at most).
func (u *syncRun) delta() (state.Iterator, error) {
	if u.first != nil {
		return u.first.delta(u.stage.acks)
	}
	sent, err := u.cs.reader()
	if err != nil {
		return nil, err
	}
	removed, err := u.removes.reader()
	if err != nil {
		return nil, err
	}
	return &deltaIter{lists: [2]*changesetReader{sent, removed}, acks: u.stage.acks}, nil
}

type deltaIter struct {
	lists  [2]*changesetReader
	have   [2]bool
	primed bool
	last   int // the list the current entry came from: it moves on at the next call
	acks   *acks
	cur    state.Entry
	change int64 // keys added less keys removed, so far
	err    error // reading the learnt record IDs
}

var _ state.RowCounter = (*deltaIter)(nil)

func (d *deltaIter) Next() bool {
	if !d.primed {
		d.primed = true
		d.have[0], d.have[1] = d.lists[0].next(), d.lists[1].next()
	} else {
		d.have[d.last] = d.lists[d.last].next()
	}
	for d.have[0] || d.have[1] {
		i := 0
		if !d.have[0] || (d.have[1] && bytes.Compare(d.lists[1].ch.key, d.lists[0].ch.key) < 0) {
			i = 1
		}
		ch := &d.lists[i].ch
		if !d.acks.delivered(ch.seq, ch.idx) {
			d.have[i] = d.lists[i].next()
			continue
		}
		d.last = i
		id, err := d.acks.learntID(ch.seq, ch.idx, ch.id)
		if err != nil {
			d.err = err
			return false
		}
		d.cur = state.Entry{Key: ch.key, Row: ch.row, ID: id}
		switch ch.kind {
		case diff.Remove:
			d.cur.Row, d.cur.ID = nil, nil
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
func (d *deltaIter) Err() error         { return errors.Join(d.lists[0].err, d.lists[1].err, d.err) }
func (d *deltaIter) Close() error       { return nil }

// commitState commits c on its own, once the destination is finished.
func (u *syncRun) commitState(ctx context.Context, c *state.Commit) error {
	u.stage.phase("committing state")
	cctx, cancel := commitContext(ctx, commitTimeout)
	defer cancel()
	began := time.Now()
	if u.x != nil && u.x.wh != nil && u.cs != nil && u.stage.acks.batches > 0 {
		// the warehouse snapshot first: a run that cannot record what was
		// acknowledged there must not say it did
		it, err := u.whAcked()
		if err != nil {
			return err
		}
		if err := u.x.wh.apply(cctx, it); err != nil {
			return fmt.Errorf("commit the warehouse snapshot: %w", err)
		}
	}
	if err := u.r.Store.Commit(cctx, u.name, c); err != nil {
		return fmt.Errorf("commit state: %w", err)
	}
	u.r.log().Debug("state committed", "sync", u.s.Name, "duration_ms", time.Since(began).Milliseconds())
	return nil
}

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

// commitQuiet records a run that found nothing to read: no destination is
// opened (there is no schema to open it with) and the cursor stays.
func (u *syncRun) commitQuiet(ctx context.Context) error {
	r, s, st, rep := u.r, u.s, u.st, u.rep
	r.log().Info("the source returned no rows since the cursor", "sync", s.Name, "cursor", rep.CursorBefore)
	rep.CursorAfter = rep.CursorBefore
	cctx, cancel := commitContext(ctx, commitTimeout)
	defer cancel()
	c := &state.Commit{Run: state.Run{Mode: s.Destination.Mode, StartedAt: u.start.UTC(), DurationMS: time.Since(u.start).Milliseconds(),
		Status: StatusOK, CursorBefore: st.Cursor, CursorAfter: st.Cursor}}
	if err := r.Store.Commit(cctx, u.name, c); err != nil {
		return fmt.Errorf("commit state: %w", err)
	}
	return nil
}
