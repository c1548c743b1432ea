package load

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	stdsync "sync"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/hoist-dev/hoist/internal/sqlitedb"
	"github.com/hoist-dev/hoist/sync/spec"
)

const (
	// sqliteMaxVars is SQLite's default SQLITE_MAX_VARIABLE_NUMBER (since
	// 3.32): the most ? one statement may bind.
	sqliteMaxVars = 32766
	// sqliteRowsPerStmt caps the rows of one multi-row INSERT. Past a few
	// hundred rows the per-statement cost is amortised and bigger statements
	// only cost more to prepare (see BenchmarkSQLiteUpsert).
	sqliteRowsPerStmt = 256
	// sqliteStmtCache bounds the prepared statements a writer keeps: the
	// full-chunk statement of each op plus a few tail sizes.
	sqliteStmtCache = 8
)

// sqliteWriter writes the batches of one run on one dedicated connection,
// each batch in its own transaction, or for replace all of them in the one
// transaction Open began with DELETE.
type sqliteWriter struct {
	mu      stdsync.Mutex
	conn    *sql.Conn
	table   sqlitedb.Table
	cols    []string
	pk      []string
	replace bool
	stmts   map[string]*sql.Stmt
	// broken is set when a replace transaction may have been lost (an
	// interrupted statement rolls back the whole transaction in SQLite);
	// later writes must not run outside it.
	broken error
	done   bool
}

var _ Writer = (*sqliteWriter)(nil)

func newSQLiteWriter(ctx context.Context, db *sql.DB, table sqlitedb.Table, t Target) (*sqliteWriter, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	w := &sqliteWriter{
		conn:    conn,
		table:   table,
		pk:      t.Dest.PrimaryKey,
		replace: t.Dest.Mode == spec.ModeReplace,
		stmts:   map[string]*sql.Stmt{},
	}
	for _, f := range t.Schema.Fields() {
		w.cols = append(w.cols, f.Name)
	}
	if w.replace {
		// Readers keep seeing the old rows (WAL) until Commit.
		if err := w.exec(ctx, "BEGIN IMMEDIATE"); err != nil {
			conn.Close()
			return nil, fmt.Errorf("begin replace of %s: %w", table, err)
		}
		if err := w.exec(ctx, "DELETE FROM "+table.SQL()); err != nil {
			w.exec(context.WithoutCancel(ctx), "ROLLBACK")
			conn.Close()
			return nil, fmt.Errorf("empty %s for replace: %w", table, err)
		}
	}
	return w, nil
}

// Concurrency is 1: SQLite has one writer at a time, and a second
// connection would only wait on the first one's lock.
func (w *sqliteWriter) Concurrency() int { return 1 }

// Write writes one batch. Rows SQLite rejects (constraints, STRICT types)
// come back in Result.Failed and the rest of the batch is committed.
func (w *sqliteWriter) Write(ctx context.Context, b Batch) (Result, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	res, err := w.write(ctx, b)
	if err != nil {
		return Result{}, fmt.Errorf("load batch %d into %s: %w", b.Seq, w.table, err)
	}
	return res, nil
}

func (w *sqliteWriter) write(ctx context.Context, b Batch) (Result, error) {
	switch {
	case w.done:
		return Result{}, errors.New("writer already committed or aborted")
	case w.broken != nil:
		return Result{}, fmt.Errorf("replace transaction lost after an earlier error: %w", w.broken)
	}
	rec := b.Record
	n := int(rec.NumRows())
	if n == 0 {
		return Result{}, nil
	}
	p, err := w.plan(b.Op, rec.Schema())
	if err != nil {
		return Result{}, err
	}
	get := make([]sqliteGetter, len(p.args))
	for i, c := range p.args {
		if get[i], err = newSQLiteGetter(rec.Column(c)); err != nil {
			return Result{}, fmt.Errorf("column %q: %w", rec.ColumnName(c), err)
		}
	}
	res, err := w.writeBatch(ctx, p, get, n, w.scope())
	if err != nil && w.replace {
		w.broken = err
	}
	return res, err
}

// sqliteScope is the SQL that brackets one batch. A batch outside replace
// is its own transaction; inside replace's transaction it is a savepoint,
// which costs a sub-journal copy of every page it touches, so only replace
// pays for one.
type sqliteScope struct {
	begin, end string
	undo       []string // roll the batch back, leaving the scope open
	abandon    []string // roll back and close the scope
}

func (w *sqliteWriter) scope() sqliteScope {
	if w.replace {
		return sqliteScope{
			begin: "SAVEPOINT hoist_batch", end: "RELEASE hoist_batch",
			undo:    []string{"ROLLBACK TO hoist_batch"},
			abandon: []string{"ROLLBACK TO hoist_batch", "RELEASE hoist_batch"},
		}
	}
	return sqliteScope{
		begin: "BEGIN IMMEDIATE", end: "COMMIT",
		undo:    []string{"ROLLBACK", "BEGIN IMMEDIATE"},
		abandon: []string{"ROLLBACK"},
	}
}

// writeBatch writes the batch with multi-row statements in one scope. If
// SQLite rejects a row, the scope is rolled back and the batch redone one
// row per savepoint, so the good rows land and each bad one is reported.
func (w *sqliteWriter) writeBatch(ctx context.Context, p *sqlitePlan, get []sqliteGetter, n int, sc sqliteScope) (Result, error) {
	// Cleanup must run even when ctx is what failed. Its errors are not
	// reported: an interrupted statement may already have ended the
	// transaction, and the batch error says what went wrong.
	cleanup := context.WithoutCancel(ctx)
	run := func(stmts []string) error {
		for _, q := range stmts {
			if err := w.exec(cleanup, q); err != nil {
				return err
			}
		}
		return nil
	}
	if err := w.exec(ctx, sc.begin); err != nil {
		return Result{}, fmt.Errorf("begin: %w", err)
	}
	var res Result
	err := w.writeRows(ctx, p, get, 0, n, &res.NotHeld)
	if err == nil {
		if err = w.exec(ctx, sc.end); err != nil {
			run(sc.abandon)
			return Result{}, fmt.Errorf("commit: %w", err)
		}
		return res, nil
	}
	if !sqliteRowRejected(err) {
		run(sc.abandon)
		return Result{}, err
	}
	if uerr := run(sc.undo); uerr != nil {
		run(sc.abandon)
		return Result{}, fmt.Errorf("roll back to redo rows one by one: %w", uerr)
	}
	res = Result{} // the rolled-back pass's answers are void
	for i := 0; i < n; i++ {
		if err := w.exec(ctx, "SAVEPOINT hoist_row"); err != nil {
			run(sc.abandon)
			return Result{}, err
		}
		err := w.writeRows(ctx, p, get, i, i+1, &res.NotHeld)
		switch {
		case err == nil:
			err = w.exec(ctx, "RELEASE hoist_row")
		case sqliteRowRejected(err):
			res.Failed = append(res.Failed, RowError{Row: i, Msg: err.Error()})
			err = w.rollbackTo(ctx, "hoist_row")
		}
		if err != nil {
			run(sc.abandon)
			return Result{}, err
		}
	}
	if err := w.exec(ctx, sc.end); err != nil {
		run(sc.abandon)
		return Result{}, fmt.Errorf("commit: %w", err)
	}
	return res, nil
}

// writeRows writes rows [from, to) in statements of up to p.perStmt rows.
// An update (one row per statement) that matched no row appends the row to
// notHeld: the table does not hold its key.
func (w *sqliteWriter) writeRows(ctx context.Context, p *sqlitePlan, get []sqliteGetter, from, to int, notHeld *[]int) error {
	args := make([]any, 0, min(to-from, p.perStmt)*len(get))
	for start := from; start < to; start += p.perStmt {
		end := min(start+p.perStmt, to)
		args = args[:0]
		for i := start; i < end; i++ {
			for _, g := range get {
				v, err := g(i)
				if err != nil {
					return err
				}
				args = append(args, v)
			}
		}
		st, err := w.stmt(ctx, p, end-start)
		if err != nil {
			return err
		}
		if p.held {
			var found int
			if err := st.QueryRowContext(ctx, args...).Scan(&found); err != nil {
				return err
			}
			if found == 0 {
				*notHeld = append(*notHeld, start)
			}
			continue
		}
		r, err := st.ExecContext(ctx, args...)
		if err != nil {
			return err
		}
		if p.update {
			if k, err := r.RowsAffected(); err != nil {
				return fmt.Errorf("rows updated: %w", err)
			} else if k == 0 {
				*notHeld = append(*notHeld, start)
			}
		}
	}
	return nil
}

// stmt returns the prepared statement for n rows of p, preparing it on the
// writer's connection on first use.
func (w *sqliteWriter) stmt(ctx context.Context, p *sqlitePlan, n int) (*sql.Stmt, error) {
	key := p.key + "/" + strconv.Itoa(n)
	if st, ok := w.stmts[key]; ok {
		return st, nil
	}
	if len(w.stmts) >= sqliteStmtCache {
		w.closeStmts()
	}
	st, err := w.conn.PrepareContext(ctx, p.sql(n))
	if err != nil {
		return nil, fmt.Errorf("prepare %s: %w", p.key, err)
	}
	w.stmts[key] = st
	return st, nil
}

func (w *sqliteWriter) closeStmts() {
	for k, st := range w.stmts {
		st.Close()
		delete(w.stmts, k)
	}
}

func (w *sqliteWriter) exec(ctx context.Context, query string) error {
	_, err := w.conn.ExecContext(ctx, query)
	return err
}

func (w *sqliteWriter) rollbackTo(ctx context.Context, savepoint string) error {
	if err := w.exec(ctx, "ROLLBACK TO "+savepoint); err != nil {
		return err
	}
	return w.exec(ctx, "RELEASE "+savepoint)
}

// Commit ends the run; for replace it commits the transaction holding the
// DELETE and every batch, so readers switch to the new content at once.
func (w *sqliteWriter) Commit(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return nil
	}
	defer w.finish()
	if !w.replace {
		return nil
	}
	if w.broken != nil {
		w.exec(context.WithoutCancel(ctx), "ROLLBACK")
		return fmt.Errorf("commit replace of %s: transaction lost after an earlier error: %w", w.table, w.broken)
	}
	if err := w.exec(ctx, "COMMIT"); err != nil {
		w.exec(context.WithoutCancel(ctx), "ROLLBACK")
		return fmt.Errorf("commit replace of %s: %w", w.table, err)
	}
	return nil
}

// Abort ends a failed run. Batches already committed stay (they were
// acknowledged); a replace is rolled back and the old content stays whole.
func (w *sqliteWriter) Abort(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return nil
	}
	defer w.finish()
	if !w.replace {
		return nil
	}
	if err := w.exec(context.WithoutCancel(ctx), "ROLLBACK"); err != nil && !strings.Contains(err.Error(), "no transaction is active") {
		return fmt.Errorf("roll back replace of %s: %w", w.table, err)
	}
	return nil
}

func (w *sqliteWriter) finish() {
	w.done = true
	w.closeStmts()
	w.conn.Close()
}

// sqlitePlan is how one op writes a batch of a given schema.
type sqlitePlan struct {
	key     string
	args    []int // record columns bound per row, in placeholder order
	perStmt int
	sql     func(rows int) string
	// update: one row per statement, and none affected means the table
	// lacks the key. held: the statement is a SELECT that counts the key
	// (an update with nothing but key columns has nothing to set).
	update, held bool
}

// plan builds the statements for op over the record's columns.
func (w *sqliteWriter) plan(op Op, sch *arrow.Schema) (*sqlitePlan, error) {
	names := make([]string, sch.NumFields())
	for i, f := range sch.Fields() {
		names[i] = f.Name
	}
	index := make(map[string]int, len(names))
	for i, n := range names {
		index[strings.ToLower(n)] = i
	}
	var pkIdx []int
	for _, k := range w.pk {
		i, ok := index[strings.ToLower(k)]
		if !ok && op != OpAppend {
			return nil, fmt.Errorf("%s batch lacks primary key column %q", op, k)
		}
		pkIdx = append(pkIdx, i)
	}
	if (op == OpUpdate || op == OpDelete) && len(w.pk) == 0 {
		return nil, fmt.Errorf("%s needs a primary key", op)
	}
	isPK := sqliteLowerSet(w.pk)
	tbl := w.table.SQL()
	p := &sqlitePlan{key: op.String()}
	switch op {
	case OpAppend, OpInsert, OpUpsert:
		if (op == OpInsert || op == OpUpsert) && len(w.pk) == 0 {
			return nil, fmt.Errorf("%s needs a primary key", op)
		}
		for i := range names {
			p.args = append(p.args, i)
		}
		head := fmt.Sprintf("INSERT INTO %s (%s) VALUES ", tbl, sqliteQuoteList(names))
		row := "(" + strings.Repeat("?,", len(names)-1) + "?)"
		tail := ""
		switch op {
		case OpInsert:
			tail = fmt.Sprintf(" ON CONFLICT (%s) DO NOTHING", sqliteQuoteList(w.pk))
		case OpUpsert:
			var set []string
			for _, n := range names {
				if !isPK[strings.ToLower(n)] {
					set = append(set, sqlitedb.Quote(n)+" = excluded."+sqlitedb.Quote(n))
				}
			}
			tail = fmt.Sprintf(" ON CONFLICT (%s) DO NOTHING", sqliteQuoteList(w.pk))
			if len(set) > 0 {
				tail = fmt.Sprintf(" ON CONFLICT (%s) DO UPDATE SET %s", sqliteQuoteList(w.pk), strings.Join(set, ", "))
			}
		}
		p.perStmt = max(1, min(sqliteRowsPerStmt, sqliteMaxVars/len(names)))
		p.sql = func(n int) string {
			return head + strings.Repeat(row+",", n-1) + row + tail
		}
	case OpUpdate:
		var set []string
		for i, n := range names {
			if !isPK[strings.ToLower(n)] {
				set = append(set, sqlitedb.Quote(n)+" = ?")
				p.args = append(p.args, i)
			}
		}
		p.args = append(p.args, pkIdx...)
		q := fmt.Sprintf("UPDATE %s SET %s WHERE %s", tbl, strings.Join(set, ", "), sqliteKeyMatch(w.pk))
		p.update = true
		if len(set) == 0 {
			q = fmt.Sprintf("SELECT count(*) FROM %s WHERE %s", tbl, sqliteKeyMatch(w.pk))
			p.held, p.key = true, "update-keys" // its own statement cache entry
		}
		p.perStmt = 1
		p.sql = func(int) string { return q }
	case OpDelete:
		p.args = pkIdx
		q := fmt.Sprintf("DELETE FROM %s WHERE %s", tbl, sqliteKeyMatch(w.pk))
		p.perStmt = 1
		p.sql = func(int) string { return q }
	default:
		return nil, fmt.Errorf("unsupported operation %s", op)
	}
	return p, nil
}

func sqliteKeyMatch(pk []string) string {
	parts := make([]string, len(pk))
	for i, k := range pk {
		parts[i] = sqlitedb.Quote(k) + " = ?"
	}
	return strings.Join(parts, " AND ")
}

// sqliteRowRejected reports whether err rejects one row's values, so the
// batch is worth redoing row by row.
func sqliteRowRejected(err error) bool {
	var ve *sqliteValueError
	return errors.As(err, &ve) || sqlitedb.IsRowError(err)
}

// BatchLimits implements BatchSizer: one transaction per batch.
func (w *sqliteWriter) BatchLimits() BatchLimits { return databaseBatch }
