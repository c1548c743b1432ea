package load

import (
	"context"
	"errors"
	"fmt"
	stdsync "sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hoist-dev/hoist/internal/pgconn"
	"github.com/hoist-dev/hoist/internal/txjoin"
)

// pgReplaceWriter runs a whole replace in one transaction: TRUNCATE at Open,
// each batch under a savepoint (so a rejected row does not abort the rest),
// COMMIT at Commit. Readers keep seeing the old rows until then (TRUNCATE's
// lock makes them wait rather than see an empty table); a failure, a kill
// or Ctrl-C rolls back to the old content.
type pgReplaceWriter struct {
	*pgWriter
	mu   stdsync.Mutex
	conn *pgxpool.Conn
	tx   pgx.Tx
	err  error // sticky: the transaction is gone
}

func (w *pgWriter) beginReplace(ctx context.Context) (Writer, error) {
	conn, err := w.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		conn.Release()
		return nil, err
	}
	if _, err := tx.Exec(ctx, "TRUNCATE "+w.ident); err != nil {
		pgconn.Rollback(tx)
		conn.Release()
		return nil, fmt.Errorf("truncate: %w", err)
	}
	return &pgReplaceWriter{pgWriter: w, conn: conn, tx: tx}, nil
}

func (w *pgReplaceWriter) Write(ctx context.Context, b Batch) (Result, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	res, err := w.write(ctx, b)
	if err != nil {
		return Result{}, fmt.Errorf("load batch %d into %s (replace): %w", b.Seq, w.table, err)
	}
	return res, nil
}

func (w *pgReplaceWriter) write(ctx context.Context, b Batch) (Result, error) {
	if w.err != nil {
		return Result{}, w.err
	}
	p, err := w.plan(b, w.getBuf())
	if err != nil {
		return Result{}, err
	}
	defer w.putBuf(p.payload)
	res := Result{Failed: p.bad}
	if len(p.sent) == 0 {
		return res, nil
	}
	if p.stage != "" {
		// Inside the transaction: not cached, it may roll back.
		if _, err := w.tx.Exec(ctx, "CREATE TEMP TABLE IF NOT EXISTS "+p.stage+" ON COMMIT DELETE ROWS AS SELECT "+
			colList(p.cols)+" FROM "+w.ident+" WITH NO DATA"); err != nil {
			return Result{}, w.broken(err)
		}
	}
	sp, err := w.tx.Begin(ctx)
	if err != nil {
		return Result{}, w.broken(err)
	}
	// replace sends append batches only: nothing can be not held
	_, err = w.applyAll(ctx, sp, p, p.payload)
	if err == nil && p.stage != "" {
		_, err = sp.Exec(ctx, "DELETE FROM "+p.stage)
	}
	if err == nil {
		if err := sp.Commit(ctx); err != nil {
			return Result{}, w.broken(err)
		}
		return res, nil
	}
	if rbErr := sp.Rollback(ctx); rbErr != nil || !pgconn.RowLevel(err) {
		// A lost connection took the whole replace with it: nothing of
		// this run is applied, so nothing may be retried piecemeal.
		return Result{}, w.broken(errors.Join(err, rbErr))
	}
	failed, _, err := w.rowByRow(ctx, w.tx, p)
	if err != nil {
		return Result{}, w.broken(err)
	}
	res.Failed = append(res.Failed, failed...)
	return res, nil
}

func (w *pgReplaceWriter) broken(err error) error {
	w.err = err
	return err
}

// Commit makes the new content visible at once.
func (w *pgReplaceWriter) Commit(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.conn == nil {
		return errors.New("replace already finished")
	}
	defer w.release()
	if w.err != nil {
		pgconn.Rollback(w.tx)
		return fmt.Errorf("commit replace of %s: %w", w.table, w.err)
	}
	if err := w.tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit replace of %s: %w", w.table, err)
	}
	return nil
}

// Abort rolls back: the table keeps its old content.
func (w *pgReplaceWriter) Abort(context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.conn == nil {
		return nil
	}
	defer w.release()
	pgconn.Rollback(w.tx)
	return nil
}

func (w *pgReplaceWriter) release() {
	w.conn.Release()
	w.conn = nil
}

// Concurrency is 1: one transaction, one connection.
func (w *pgReplaceWriter) Concurrency() int { return 1 }

// JoinTarget implements StateJoiner, which the embedded pgWriter would
// otherwise answer for it: a replace's batches share one transaction that
// commits at Commit, so no batch has a transaction of its own for the state
// to join.
func (w *pgReplaceWriter) JoinTarget() txjoin.Target { return txjoin.Target{} }

// BatchLimits implements BatchSizer: one COPY round trip per batch.
func (w *pgReplaceWriter) BatchLimits() BatchLimits { return databaseBatch }
