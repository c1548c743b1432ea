package load

import (
	"context"
	"errors"
	"fmt"
	"slices"
	stdsync "sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hoist-dev/hoist/internal/pgconn"
	"github.com/hoist-dev/hoist/internal/pgwire"
	"github.com/hoist-dev/hoist/internal/txjoin"
)

// pgWriter writes batches for every mode but replace: each batch is one
// transaction on a pooled connection, retried whole on connection loss.
type pgWriter struct {
	pool  *pgxpool.Pool
	sync  string
	table string // as configured
	ident string // quoted
	key   []string
	encs  map[string]pgwire.Encoder
	// target is the database the pool reaches, for a joint state commit.
	target txjoin.Target

	mu     stdsync.Mutex
	stages map[*pgx.Conn]map[string]bool // staging tables created per session

	bufs stdsync.Pool
}

var _ Writer = (*pgWriter)(nil)

// commitError marks a failure of COMMIT itself: the server may or may not
// have committed, so only idempotent ops may be retried.
type commitError struct{ err error }

func (e *commitError) Error() string { return "commit: " + e.err.Error() }
func (e *commitError) Unwrap() error { return e.err }

// batchPlan is one batch's columns, encoders, payload and statements.
type batchPlan struct {
	b       Batch
	cols    []string
	encs    []pgwire.Encoder
	stage   string // "" for OpAppend: COPY goes straight into the table
	ord     string // OpUpdate: the staging column numbering the rows
	copySQL string
	apply   string
	payload []byte
	bad     []RowError
	sent    []int
}

func (w *pgWriter) plan(b Batch, buf []byte) (*batchPlan, error) {
	rec := b.Record
	p := &batchPlan{b: b, cols: make([]string, rec.NumCols()), encs: make([]pgwire.Encoder, rec.NumCols())}
	for i, f := range rec.Schema().Fields() {
		enc, ok := w.encs[f.Name]
		if !ok {
			return nil, fmt.Errorf("column %q is not in the schema the writer was opened with", f.Name)
		}
		p.cols[i], p.encs[i] = f.Name, enc
	}
	if b.Op == OpAppend {
		p.copySQL = "COPY " + w.ident + " (" + colList(p.cols) + ") FROM STDIN (FORMAT binary)"
	} else {
		if len(w.key) == 0 && (b.Op == OpUpdate || b.Op == OpDelete || b.Op == OpUpsert) {
			return nil, fmt.Errorf("%s needs a primary_key", b.Op)
		}
		name, staged := stageName(w.table, p.cols), p.cols
		if b.Op == OpUpdate {
			// its own stage: the extra column would not fit another op's
			p.ord = ordColumn(p.cols)
			name, staged = name+"_u", append(slices.Clone(p.cols), p.ord)
		}
		p.stage = pgx.Identifier{name}.Sanitize()
		p.copySQL = "COPY " + p.stage + " (" + colList(staged) + ") FROM STDIN (FORMAT binary)"
		p.apply = applySQL(b.Op, w.ident, p.stage, p.cols, w.key, p.ord)
	}
	p.payload, p.bad, p.sent = copyPayload(buf, rec, p.encs, nil, p.ord != "")
	return p, nil
}

func (w *pgWriter) getBuf() []byte {
	if b, ok := w.bufs.Get().(*[]byte); ok {
		return (*b)[:0]
	}
	return make([]byte, 0, 1<<16)
}

func (w *pgWriter) putBuf(b []byte) {
	if cap(b) <= 64<<20 { // keep no giant buffer alive between batches
		w.bufs.Put(&b)
	}
}

func (w *pgWriter) Write(ctx context.Context, b Batch) (Result, error) {
	p, err := w.plan(b, w.getBuf())
	if err != nil {
		return Result{}, fmt.Errorf("load batch %d into %s: %w", b.Seq, w.table, err)
	}
	defer w.putBuf(p.payload)
	var res Result
	retry := func(err error) bool {
		var ce *commitError
		// A plain insert whose COMMIT got no answer may have landed;
		// retrying could double it, so the run fails and says so.
		return pgconn.Transient(err) && !(b.Op == OpAppend && errors.As(err, &ce))
	}
	err = pgconn.RetryIf(ctx, pgconn.DefaultRetry, retry, func(ctx context.Context) error {
		var err error
		res, err = w.writeOnce(ctx, p, nil)
		return err
	})
	if err != nil {
		return Result{}, fmt.Errorf("load batch %d into %s: %w", b.Seq, w.table, err)
	}
	return res, nil
}

// writeOnce applies the batch in one transaction; on a data or constraint
// error it rolls back and applies it again row by row to find the culprits.
// then, when set, runs inside the transaction just before COMMIT.
func (w *pgWriter) writeOnce(ctx context.Context, p *batchPlan, then FinalFunc) (Result, error) {
	conn, err := w.pool.Acquire(ctx)
	if err != nil {
		return Result{}, err
	}
	defer conn.Release()
	if p.stage != "" {
		if err := w.ensureStage(ctx, conn.Conn(), p); err != nil {
			return Result{}, err
		}
	}
	res := Result{Failed: p.bad}
	if len(p.sent) == 0 && then == nil {
		return res, nil
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return Result{}, err
	}
	if len(p.sent) > 0 {
		notHeld, err := w.applyAll(ctx, tx, p, p.payload)
		res.NotHeld = notHeld
		if err != nil {
			pgconn.Rollback(tx)
			if !pgconn.RowLevel(err) {
				return Result{}, err
			}
			if tx, err = conn.Begin(ctx); err != nil {
				return Result{}, err
			}
			failed, notHeld, err := w.rowByRow(ctx, tx, p)
			if err != nil {
				pgconn.Rollback(tx)
				return Result{}, err
			}
			res.Failed = append(res.Failed, failed...)
			res.NotHeld = notHeld
		}
	}
	if then != nil {
		if err := then(ctx, pgconn.JoinTx(w.target, tx), res); err != nil {
			pgconn.Rollback(tx)
			return Result{}, err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return Result{}, &commitError{err}
	}
	return res, nil
}

// FinalFunc runs inside the transaction of a run's last batch, with the
// batch's per-row result, just before COMMIT.
type FinalFunc func(ctx context.Context, tx txjoin.Tx, res Result) error

// StateJoiner is a writer that can commit something of the caller's (the
// sync's state, in a store that joins the writer's database:
// state.TxJoiner) in the transaction of the last batch, so both land or
// neither does.
type StateJoiner interface {
	// JoinTarget names the database the writer's transactions run in; the
	// zero Target when it has no transaction of a batch's own to share.
	JoinTarget() txjoin.Target
	WriteFinal(ctx context.Context, b Batch, then FinalFunc) (Result, error)
}

var _ StateJoiner = (*pgWriter)(nil)

// JoinTarget implements StateJoiner.
func (w *pgWriter) JoinTarget() txjoin.Target { return w.target }

// WriteFinal writes b and runs then in its transaction. It is not retried:
// on any error nothing of b or then is committed, and the caller falls back
// to committing its state on its own.
func (w *pgWriter) WriteFinal(ctx context.Context, b Batch, then FinalFunc) (Result, error) {
	p, err := w.plan(b, w.getBuf())
	if err != nil {
		return Result{}, fmt.Errorf("load batch %d into %s: %w", b.Seq, w.table, err)
	}
	defer w.putBuf(p.payload)
	res, err := w.writeOnce(ctx, p, then)
	if err != nil {
		return Result{}, fmt.Errorf("load batch %d into %s: %w", b.Seq, w.table, err)
	}
	return res, nil
}

// applyAll COPYs payload and, for staged ops, runs the apply statement. An
// update's statement answers the rows it found no key for (notHeld), in the
// same round trip.
func (w *pgWriter) applyAll(ctx context.Context, tx pgx.Tx, p *batchPlan, payload []byte) (notHeld []int, err error) {
	if err := copyIn(ctx, tx, p.copySQL, payload); err != nil {
		return nil, err
	}
	if p.apply == "" {
		return nil, nil
	}
	if p.ord == "" {
		_, err := tx.Exec(ctx, p.apply)
		return nil, err
	}
	rows, err := tx.Query(ctx, p.apply)
	if err != nil {
		return nil, err
	}
	var row int32
	_, err = pgx.ForEachRow(rows, []any{&row}, func() error {
		if row < 0 || int(row) >= int(p.b.Record.NumRows()) {
			return fmt.Errorf("update answered row %d of a %d-row batch", row, p.b.Record.NumRows())
		}
		notHeld = append(notHeld, int(row))
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(notHeld)
	return notHeld, nil
}

// rowByRow applies each sent row under its own savepoint inside tx and
// returns the rows the server rejected with a data or constraint error, and
// the update rows whose key the table lacks.
func (w *pgWriter) rowByRow(ctx context.Context, tx pgx.Tx, p *batchPlan) (failed []RowError, notHeld []int, err error) {
	buf := w.getBuf()
	defer func() { w.putBuf(buf) }()
	for _, i := range p.sent {
		var one []int
		buf, _, one = copyPayload(buf, p.b.Record, p.encs, []int{i}, p.ord != "")
		if len(one) == 0 {
			continue
		}
		sp, err := tx.Begin(ctx) // SAVEPOINT
		if err != nil {
			return nil, nil, err
		}
		absent, err := w.applyAll(ctx, sp, p, buf)
		if err == nil && p.stage != "" {
			_, err = sp.Exec(ctx, "DELETE FROM "+p.stage)
		}
		if err == nil {
			if err := sp.Commit(ctx); err != nil { // RELEASE SAVEPOINT
				return nil, nil, err
			}
			notHeld = append(notHeld, absent...)
			continue
		}
		if rbErr := sp.Rollback(ctx); rbErr != nil {
			return nil, nil, errors.Join(err, rbErr)
		}
		if !pgconn.RowLevel(err) {
			return nil, nil, err
		}
		failed = append(failed, RowError{Row: i, Msg: pgconn.ErrMsg(err)})
	}
	return failed, notHeld, nil
}

// ensureStage creates the session's staging table for the batch's columns
// once per connection, outside the batch transaction. It copies the column
// types (not constraints) of the target; ON COMMIT DELETE ROWS empties it
// after each batch, and a rollback discards a failed batch's rows.
func (w *pgWriter) ensureStage(ctx context.Context, c *pgx.Conn, p *batchPlan) error {
	w.mu.Lock()
	done := w.stages[c][p.stage]
	w.mu.Unlock()
	if done {
		return nil
	}
	cols := colList(p.cols)
	if p.ord != "" {
		cols += ", NULL::int4 AS " + pgconn.Col(p.ord)
	}
	_, err := c.Exec(ctx, "CREATE TEMP TABLE IF NOT EXISTS "+p.stage+" ON COMMIT DELETE ROWS AS SELECT "+
		cols+" FROM "+w.ident+" WITH NO DATA")
	if err != nil {
		return fmt.Errorf("create staging table: %w", err)
	}
	w.mu.Lock()
	if w.stages[c] == nil {
		w.stages[c] = map[string]bool{}
	}
	w.stages[c][p.stage] = true
	w.mu.Unlock()
	return nil
}

// Commit has nothing to do: every batch committed on its own.
func (w *pgWriter) Commit(context.Context) error { return nil }

// Abort has nothing to undo: acknowledged batches stay delivered.
func (w *pgWriter) Abort(context.Context) error { return nil }

// Concurrency: batches are independent transactions on a pool.
func (w *pgWriter) Concurrency() int { return 0 }

// BatchLimits implements BatchSizer: one COPY, one apply statement and one commit per batch.
func (w *pgWriter) BatchLimits() BatchLimits { return mergeBatch }
