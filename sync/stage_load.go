package sync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	stdsync "sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/sync/spec"
)

// Stage 4 of a run (see run.go): load. Concurrent loaders write the batches
// and book every answer: delivered rows, rejected rows (to the rejected-rows
// file), rows the destination does not hold, and the cursor bounds.

// acks records what the destination acknowledged, batch by batch.
type acks struct {
	mu stdsync.Mutex
	// done has bit seq set when batch seq was answered (not failed whole):
	// batch numbers are dense from 0, so a bitset stays small at any count.
	done     []uint64
	rejected map[int]map[int]bool // seq → rejected row indexes
	// notHeld is seq → rows of update batches whose key the destination
	// does not hold: answered, so the cursor may pass them, but not
	// delivered, so the snapshot leaves them out and the next run offers
	// them again.
	notHeld map[int]map[int]bool
	// ids holds the record IDs the writer learnt for each batch's rows
	// (load.Result.IDs), for a writer that keeps IDs (batch_extras.go);
	// nil for one that does not.
	ids     *idSpill
	rows    int64 // rows delivered
	rejects int64
	absent  int64 // rows not held
	pending int64 // rows the destination left for the next run (load.Result.Pending)
	batches int
}

func newAcks() *acks {
	return &acks{rejected: map[int]map[int]bool{}, notHeld: map[int]map[int]bool{}}
}

func (a *acks) setDone(seq int) {
	for len(a.done) <= seq/64 {
		a.done = append(a.done, 0)
	}
	a.done[seq/64] |= 1 << (seq % 64)
}

func (a *acks) isDone(seq int) bool {
	return seq/64 < len(a.done) && a.done[seq/64]&(1<<(seq%64)) != 0
}

// delivered reports whether row of batch seq was acknowledged.
func (a *acks) delivered(seq, row int) bool {
	return a.isDone(seq) && !a.rejected[seq][row] && !a.notHeld[seq][row]
}

// errTooManyRejected stops a run past on_reject.max_rejected.
var errTooManyRejected = errors.New("too many rejected rows")

// loadStage fans batches out to concurrent loaders and records every answer.
type loadStage struct {
	w         load.Writer
	workers   int
	acks      *acks
	cursors   *cursorTracker
	rejects   *rejectFile
	maxReject int64 // -1: no limit
	sync      string
	progress  Progress
	log       *slog.Logger
	// stopping is set by the first failed batch: the loaders then write
	// nothing more and record each remaining batch as undelivered. The
	// producer still hands every batch over, so no change goes unaccounted
	// (the cursor must stay below every undelivered row).
	stopping atomic.Bool
	// nullKeys is the rows rejected for a NULL key before they reached a
	// loader: they count towards max_rejected too.
	nullKeys atomic.Int64
	// found counts rows writers report rejected while still working on a
	// batch (load.Batch.Reject), so that a run past max_rejected stops
	// splitting requests at once rather than after the batch.
	found atomic.Int64
	// sent counts the rows handed to the destination.
	sent atomic.Int64
}

// newLoadStage makes the load stage of a sync's run on w; tmp is the run's
// temp folder, where the record IDs of a writer that keeps them wait.
func newLoadStage(r *Runner, s *spec.Sync, w load.Writer, cursors *cursorTracker, rejects *rejectFile, tmp string) *loadStage {
	l := &loadStage{
		w: w, workers: r.workers(s, w), acks: newAcks(), cursors: cursors, rejects: rejects,
		maxReject: -1, sync: s.Name, log: r.log(),
	}
	if s.OnReject.MaxRejected != nil {
		l.maxReject = int64(*s.OnReject.MaxRejected)
	}
	if load.NeedsOf(w).IDs {
		l.acks.ids = newIDSpill(tmp)
	}
	if r.Opt.Progress != nil {
		l.progress = r.Opt.Progress(s.Name)
	}
	return l
}

// load runs produce (the batch stage) and loads what it sends with the
// concurrent loaders. It returns the first failure; acknowledged batches stay
// recorded.
func (u *syncRun) load(ctx context.Context, produce func(ctx context.Context, send func(*outBatch) error) error) error {
	err := u.stage.run(ctx, produce)
	if !u.mode.Keyed {
		u.rep.Added = u.x.read
	}
	u.rep.RowsRead = u.x.read
	return err
}

// run calls produce, which sends batches with send, and loads them. It
// returns the first failure; acknowledged batches stay recorded.
func (l *loadStage) run(ctx context.Context, produce func(ctx context.Context, send func(*outBatch) error) error) error {
	g, gctx := errgroup.WithContext(ctx)
	ch := make(chan *outBatch, l.workers)
	g.Go(func() error {
		defer close(ch)
		return produce(gctx, func(b *outBatch) error {
			select {
			case ch <- b:
				return nil
			case <-gctx.Done():
				b.release()
				return gctx.Err()
			}
		})
	})
	var loops stdsync.WaitGroup
	loops.Add(l.workers)
	for i := 0; i < l.workers; i++ {
		g.Go(func() error {
			var failed error
			for b := range ch {
				if failed != nil || l.stopping.Load() {
					l.unacked(b)
					b.release()
					continue
				}
				failed = l.write(gctx, b)
				b.release()
				if failed != nil {
					l.stopping.Store(true)
				}
			}
			loops.Done()
			if errors.Is(failed, errTooManyRejected) || budgetStop(failed) {
				// The other loaders' writes in flight stop at their next
				// request by themselves (load.Batch.Reject); cancelling
				// them would lose the rejections they found, and the
				// count would no longer match the rejected rows file.
				// A spent budget is a clean stop too: the batches already
				// sent (their requests reserved) are applied by the API,
				// and cancelling them would lose their answers, so they
				// would be neither counted delivered nor committed.
				loops.Wait()
			}
			// returned only once the producer has handed everything over:
			// an earlier return would cancel it mid-changeset
			return failed
		})
	}
	return g.Wait()
}

func (l *loadStage) unacked(b *outBatch) {
	if b.cursors != nil {
		l.acks.mu.Lock()
		l.cursors.unacked(b.cursors, nil)
		l.acks.mu.Unlock()
	}
}

func (l *loadStage) write(ctx context.Context, b *outBatch) error {
	start := time.Now()
	batch := b.Batch
	if l.maxReject >= 0 {
		batch.Reject = func(n int) bool { return l.nullKeys.Load()+l.found.Add(int64(n)) > l.maxReject }
	}
	l.sent.Add(b.Record.NumRows())
	res, err := l.w.Write(ctx, batch)
	var limit *load.RejectLimitError
	if errors.As(err, &limit) {
		// The rejections found are real: book them. The rest of the batch
		// is not known delivered, so the batch stays unacknowledged.
		l.unacked(b)
		if err := l.bookRejects(b, limit.Failed); err != nil {
			return err
		}
		return l.tooMany()
	}
	if err != nil {
		l.unacked(b)
		return fmt.Errorf("load batch %d (%s, %d rows): %w", b.Seq, b.Op, b.Record.NumRows(), err)
	}
	return l.record(b, res, start)
}

// bookRejects writes the rejected rows of a batch stopped past
// max_rejected to the file and the count.
func (l *loadStage) bookRejects(b *outBatch, failed []load.RowError) error {
	n := int(b.Record.NumRows())
	for _, f := range failed {
		if f.Row < 0 || f.Row >= n {
			return fmt.Errorf("load batch %d: destination rejected row %d of %d", b.Seq, f.Row, n)
		}
		if err := l.rejects.write(l.rejectLine(b, f)); err != nil {
			return err
		}
	}
	l.acks.mu.Lock()
	l.acks.rejects += int64(len(failed))
	l.acks.mu.Unlock()
	return nil
}

func (l *loadStage) rejectLine(b *outBatch, f load.RowError) rejectLine {
	line := rejectLine{Sync: l.sync, Key: keyOf(b.Record, f.Row, b.keyIdx), Row: rowMap(b.Record, f.Row, nil), Error: f.Msg, Status: f.Status, Body: f.Body}
	if b.Op == load.OpDelete {
		line.Row = nil
	}
	return line
}

// tooMany is the max_rejected failure; the finisher restates it with the
// run's final count, the one the report shows.
func (l *loadStage) tooMany() error {
	l.acks.mu.Lock()
	defer l.acks.mu.Unlock()
	return fmt.Errorf("%w: %d rows rejected, more than on_reject.max_rejected %d", errTooManyRejected, l.nullKeys.Load()+l.acks.rejects, l.maxReject)
}

// record books a batch's answer: rejected rows to the file, the rest as
// delivered, cursor bounds, progress.
func (l *loadStage) record(b *outBatch, res load.Result, start time.Time) error {
	n := int(b.Record.NumRows())
	failed := map[int]bool{}
	for _, f := range res.Failed {
		if f.Row < 0 || f.Row >= n {
			return fmt.Errorf("load batch %d: destination rejected row %d of %d", b.Seq, f.Row, n)
		}
		failed[f.Row] = true
	}
	absent, err := notHeldRows(b, res.NotHeld, failed)
	if err != nil {
		return err
	}
	pending, err := pendingRows(b, res.Pending, failed, absent)
	if err != nil {
		return err
	}
	for _, f := range res.Failed {
		if err := l.rejects.write(l.rejectLine(b, f)); err != nil {
			return err
		}
	}
	l.acks.mu.Lock()
	defer l.acks.mu.Unlock()
	if l.acks.ids != nil {
		if err := l.acks.keepIDs(b.Seq, n, res.IDs); err != nil {
			return err
		}
	}
	l.acks.setDone(b.Seq)
	l.acks.batches++
	if len(failed) > 0 {
		l.acks.rejected[b.Seq] = failed
	}
	if len(absent) > 0 || len(pending) > 0 {
		// a pending row is kept out of the snapshot as a not-held one is
		held := make(map[int]bool, len(absent)+len(pending))
		for r := range absent {
			held[r] = true
		}
		for r := range pending {
			held[r] = true
		}
		l.acks.notHeld[b.Seq] = held
	}
	l.acks.pending += int64(len(pending))
	l.acks.rows += int64(n - len(failed) - len(absent) - len(pending))
	l.acks.rejects += int64(len(failed))
	l.acks.absent += int64(len(absent))
	if b.cursors != nil {
		var ok, bad []int
		for i := 0; i < n; i++ {
			if failed[i] || pending[i] {
				bad = append(bad, i)
			} else {
				ok = append(ok, i)
			}
		}
		if len(bad) == 0 {
			l.cursors.acked(b.cursors, nil)
		} else {
			l.cursors.acked(b.cursors, ok)
			l.cursors.unacked(b.cursors, bad)
		}
	}
	if l.progress != nil {
		l.progress.Add(n)
	}
	l.log.Debug("batch loaded", "sync", l.sync, "batch", b.Seq, "op", b.Op.String(), "rows", n, "rejected", len(failed), "not_held", len(absent), "duration_ms", time.Since(start).Milliseconds())
	if l.maxReject >= 0 && l.nullKeys.Load()+l.acks.rejects > l.maxReject {
		return fmt.Errorf("%w: %d rows rejected, more than on_reject.max_rejected %d", errTooManyRejected, l.nullKeys.Load()+l.acks.rejects, l.maxReject)
	}
	return nil
}

// pendingRows checks a batch's pending rows (in range, neither rejected nor
// not held) and returns them as a set. Unlike a not-held row, a pending one
// holds the cursor below it: it was not answered.
func pendingRows(b *outBatch, rows []int, failed, absent map[int]bool) (map[int]bool, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	n := int(b.Record.NumRows())
	out := make(map[int]bool, len(rows))
	for _, r := range rows {
		if r < 0 || r >= n || failed[r] || absent[r] {
			return nil, fmt.Errorf("load batch %d: destination reported row %d of %d pending, out of range or already rejected or not held", b.Seq, r, n)
		}
		out[r] = true
	}
	return out, nil
}

// notHeldRows checks a batch's not-held rows against the Writer contract
// (update batches only, in range, not also rejected) and returns them as a
// set. A not-held row counts as answered for the cursor: the destination
// said it lacks the key, and mode update never creates it.
func notHeldRows(b *outBatch, rows []int, failed map[int]bool) (map[int]bool, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	if b.Op != load.OpUpdate {
		return nil, fmt.Errorf("load batch %d (%s): destination reported rows not held, which only an update batch has", b.Seq, b.Op)
	}
	n := int(b.Record.NumRows())
	out := make(map[int]bool, len(rows))
	for _, r := range rows {
		if r < 0 || r >= n {
			return nil, fmt.Errorf("load batch %d: destination reported row %d of %d not held", b.Seq, r, n)
		}
		if failed[r] {
			return nil, fmt.Errorf("load batch %d: destination reported row %d both rejected and not held", b.Seq, r)
		}
		out[r] = true
	}
	return out, nil
}

// lateNotHeld books the rows a writer found not held only when it finished
// (load.NotHeldReporter): they were counted delivered when their batch was
// answered and now leave the count and the snapshot. The cursor stays as it
// is: it may pass a row whose key the destination lacks.
func (l *loadStage) lateNotHeld() error {
	r, ok := l.w.(load.NotHeldReporter)
	if !ok {
		return nil
	}
	l.acks.mu.Lock()
	defer l.acks.mu.Unlock()
	for seq, rows := range r.NotHeld() {
		if !l.acks.isDone(seq) {
			return fmt.Errorf("destination reported rows not held in batch %d, which it did not answer", seq)
		}
		for _, row := range rows {
			if !l.acks.delivered(seq, row) {
				continue // rejected, or reported twice
			}
			if l.acks.notHeld[seq] == nil {
				l.acks.notHeld[seq] = map[int]bool{}
			}
			l.acks.notHeld[seq][row] = true
			l.acks.rows--
			l.acks.absent++
		}
	}
	return nil
}

// workers is how many loaders run at once: the sync's concurrency, or,
// when neither the spec nor the command line sets one, the writer's own
// default where it has one (load.DefaultConcurrencer).
func (r *Runner) workers(s *spec.Sync, w load.Writer) int {
	n := s.Concurrency
	if d, ok := w.(load.DefaultConcurrencer); ok && s.ConcurrencyDefault && d.DefaultConcurrency() > 0 {
		n = d.DefaultConcurrency()
	}
	if r.Opt.Concurrency > 0 {
		n = r.Opt.Concurrency
	}
	if c := w.Concurrency(); c > 0 && c < n {
		n = c
	}
	return max(n, 1)
}
