package load

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	stdsync "sync"
	"sync/atomic"

	"github.com/hoist-dev/hoist/internal/mysqlconn"
)

// myReplaceWriter fills a new table made LIKE the target, batch by batch
// (in parallel: each is its own transaction), and swaps it in at Commit
// with one RENAME TABLE, which readers see all at once; Abort, a failure
// or a kill leaves the old table as it was.
type myReplaceWriter struct {
	*myWriter // writes the new table
	target    string
	oldName   string

	mu    stdsync.Mutex
	ended atomic.Bool
}

func (w *myWriter) beginReplace(ctx context.Context) (Writer, error) {
	newName, oldName := mySideName(w.table, "__hoist_new"), mySideName(w.table, "__hoist_old")
	newIdent := mysqlconn.Ident(newName)
	// a new table left by a run that died before Commit or Abort
	if _, err := w.db.ExecContext(ctx, "DROP TABLE IF EXISTS "+newIdent); err != nil {
		return nil, fmt.Errorf("drop leftover %s: %w", newName, err)
	}
	if _, err := w.db.ExecContext(ctx, "CREATE TABLE "+newIdent+" LIKE "+w.ident); err != nil {
		return nil, fmt.Errorf("create %s: %w", newName, err)
	}
	return &myReplaceWriter{myWriter: newMyWriter(w.db, w.sync, newName, w.key, w.cols, w.direct), target: w.table, oldName: oldName}, nil
}

// mySideName names a table beside table with suffix, within MySQL's 64
// characters (a long name is cut and told apart by a hash).
func mySideName(table, suffix string) string {
	db, name := mysqlconn.Table(table)
	side := name + suffix
	if len(side) > 64 {
		h := fnv.New32a()
		h.Write([]byte(name))
		side = fmt.Sprintf("%s_%08x%s", name[:64-len(suffix)-9], h.Sum32(), suffix)
	}
	if db == "" {
		return mysqlconn.Col(side)
	}
	return mysqlconn.Col(db) + "." + mysqlconn.Col(side)
}

func (w *myReplaceWriter) Write(ctx context.Context, b Batch) (Result, error) {
	if w.ended.Load() {
		return Result{}, errors.New("replace already finished")
	}
	res, err := w.myWriter.Write(ctx, b)
	if err != nil {
		return Result{}, fmt.Errorf("%w (replace)", err)
	}
	return res, nil
}

// Commit swaps the new table in and drops the old one.
func (w *myReplaceWriter) Commit(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ended.Swap(true) {
		return errors.New("replace already finished")
	}
	target, old := mysqlconn.Ident(w.target), mysqlconn.Ident(w.oldName)
	if _, err := w.db.ExecContext(ctx, "DROP TABLE IF EXISTS "+old); err != nil {
		return fmt.Errorf("commit replace of %s: drop leftover %s: %w", w.target, w.oldName, err)
	}
	if _, err := w.db.ExecContext(ctx, "RENAME TABLE "+target+" TO "+old+", "+w.ident+" TO "+target); err != nil {
		return fmt.Errorf("commit replace of %s: %w", w.target, err)
	}
	// The new content is in place; the old table left behind (the drop
	// failed) is dropped by the next replace.
	_, _ = w.db.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+old)
	return nil
}

// Abort drops the new table: the target keeps its old content.
func (w *myReplaceWriter) Abort(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ended.Swap(true) {
		return nil
	}
	if _, err := w.db.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+w.ident); err != nil {
		return fmt.Errorf("abort replace of %s: drop %s: %w", w.target, w.table, err)
	}
	return nil
}
