package load

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	stdsync "sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/go-sql-driver/mysql"

	"github.com/hoist-dev/hoist/internal/mysqlconn"
)

// myWriter writes batches for every mode but replace (which wraps it):
// each batch is staged on a connection of its own and applied in one
// transaction, retried whole on connection loss or deadlock.
type myWriter struct {
	db    *sql.DB
	sync  string
	table string // as configured
	ident string // quoted
	key   []string
	cols  map[string]myColumn
	// direct: LOAD DATA may go straight into the table (transactional, no
	// BIT column); noDirect[op]: it was tried for op and found keys the
	// table holds, so op's batches go through staging from then on.
	direct   bool
	noDirect [OpDelete + 1]atomic.Bool

	mu     stdsync.Mutex
	stages map[any]map[string]bool // staging tables created, per driver connection
}

var _ Writer = (*myWriter)(nil)

func newMyWriter(db *sql.DB, sync, table string, key []string, cols map[string]myColumn, direct bool) *myWriter {
	return &myWriter{db: db, sync: sync, table: table, ident: mysqlconn.Ident(table), key: key, cols: cols,
		direct: direct, stages: map[any]map[string]bool{}}
}

// myPlan is one batch's columns, encoders and statements.
type myPlan struct {
	b        Batch
	cols     []string
	encs     []myEncoder
	stage    string // staging table, quoted
	stageKey string // its name, for the per-connection cache
	stageDDL string
	ord      string // staging column numbering the rows (their index in the record)
	loadHead string // LOAD DATA … 'Reader::  — the reader's name goes between
	loadTail string // ' INTO TABLE …
	direct   string // the tail of a LOAD DATA straight into the table ("": not for this op)
	apply    string // moves every staged row into the table
	ranged   string // the same for staged rows with ord BETWEEN ? AND ?
	notHeld  string // OpUpdate: the staged rows no key matched
}

func (w *myWriter) plan(b Batch) (*myPlan, error) {
	rec := b.Record
	if len(w.key) == 0 && (b.Op == OpUpdate || b.Op == OpDelete || b.Op == OpUpsert) {
		return nil, fmt.Errorf("%s needs a primary_key", b.Op)
	}
	p := &myPlan{b: b, cols: make([]string, rec.NumCols()), encs: make([]myEncoder, rec.NumCols())}
	h := fnv.New64a()
	h.Write([]byte(w.table))
	defs := make([]string, rec.NumCols())
	for i, f := range rec.Schema().Fields() {
		c, ok := w.cols[f.Name]
		if !ok {
			return nil, fmt.Errorf("column %q is not in the table the writer was opened for", f.Name)
		}
		enc, err := myEncoderFor(f.Type)
		if err != nil {
			return nil, fmt.Errorf("column %q: %w", f.Name, err)
		}
		st := myStageType(f.Type, c)
		p.cols[i], p.encs[i] = f.Name, enc
		defs[i] = mysqlconn.Col(f.Name) + " " + st + " NULL"
		h.Write([]byte{0})
		h.Write([]byte(defs[i]))
	}
	ord := ordColumn(p.cols)
	p.ord = ord
	hit := "hoist_hit"
	for slices.Contains(p.cols, hit) || hit == ord {
		hit += "_"
	}
	extra := ", " + mysqlconn.Col(ord) + " INT UNSIGNED NOT NULL PRIMARY KEY"
	name := fmt.Sprintf("hoist_stage_%016x", h.Sum64())
	if b.Op == OpUpdate {
		// its own stage: the extra column would not fit another op's
		extra += ", " + mysqlconn.Col(hit) + " TINYINT NOT NULL DEFAULT 0"
		name += "_u"
	}
	p.stageKey, p.stage = name, mysqlconn.Col(name)
	p.stageDDL = "CREATE TEMPORARY TABLE IF NOT EXISTS " + p.stage + " (" + strings.Join(defs, ", ") + extra +
		") DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
	// hex literals: the same bytes whatever the session's sql_mode says
	// about backslashes in strings
	p.loadHead = "LOAD DATA LOCAL INFILE 'Reader::"
	p.loadTail = "' INTO TABLE " + p.stage + " CHARACTER SET utf8mb4 FIELDS TERMINATED BY X'09' ESCAPED BY X'5C'" +
		" LINES TERMINATED BY X'0A' (" + myColList(p.cols) + ", " + mysqlconn.Col(ord) + ")"
	if w.direct && (b.Op == OpAppend || b.Op == OpInsert || b.Op == OpUpsert) {
		p.direct = "' INTO TABLE " + w.ident + " CHARACTER SET utf8mb4 FIELDS TERMINATED BY X'09' ESCAPED BY X'5C'" +
			" LINES TERMINATED BY X'0A' (" + myColList(p.cols) + ")"
	}
	p.apply = myApplySQL(b.Op, w.ident, p.stage, p.cols, w.key, ord, hit, false)
	p.ranged = myApplySQL(b.Op, w.ident, p.stage, p.cols, w.key, ord, hit, true)
	if b.Op == OpUpdate {
		p.notHeld = "SELECT " + mysqlconn.Col(ord) + " FROM " + p.stage + " WHERE " + mysqlconn.Col(hit) + " = 0 ORDER BY " + mysqlconn.Col(ord)
	}
	return p, nil
}

// myApplySQL is the one statement that moves staged rows into the table,
// in batch order (a key twice in an upsert batch keeps its last row). An
// update also marks the staged rows it matched (hit), so that the rows it
// did not are known to be not held.
func myApplySQL(op Op, table, stage string, cols, key []string, ord, hit string, ranged bool) string {
	var nonKey []string
	for _, c := range cols {
		if !slices.Contains(key, c) {
			nonKey = append(nonKey, c)
		}
	}
	o := mysqlconn.Col(ord)
	where := ""
	if ranged {
		where = " WHERE s." + o + " BETWEEN ? AND ?"
	}
	list := myColList(cols)
	insert := "INSERT INTO " + table + " (" + list + ") SELECT " + list + " FROM " + stage + " AS s" + where + " ORDER BY s." + o
	// a no-op assignment names the table: the staged row has the column too
	keep := table + "." + mysqlconn.Col(cols[0])
	if len(key) > 0 {
		keep = table + "." + mysqlconn.Col(key[0])
	}
	switch op {
	case OpInsert:
		// a no-op update rather than INSERT IGNORE, which would also turn
		// a value out of range into a clipped one with a warning
		return insert + " ON DUPLICATE KEY UPDATE " + keep + " = " + keep
	case OpUpsert:
		if len(nonKey) == 0 {
			return insert + " ON DUPLICATE KEY UPDATE " + keep + " = " + keep
		}
		sets := make([]string, len(nonKey))
		for i, c := range nonKey {
			sets[i] = mysqlconn.Col(c) + " = VALUES(" + mysqlconn.Col(c) + ")"
		}
		return insert + " ON DUPLICATE KEY UPDATE " + strings.Join(sets, ", ")
	case OpUpdate:
		sets := make([]string, 0, len(nonKey)+1)
		for _, c := range nonKey {
			sets = append(sets, "t."+mysqlconn.Col(c)+" = s."+mysqlconn.Col(c))
		}
		sets = append(sets, "s."+mysqlconn.Col(hit)+" = 1")
		return "UPDATE " + table + " AS t JOIN " + stage + " AS s ON " + myKeyMatch(key) + " SET " + strings.Join(sets, ", ") + where
	case OpDelete:
		return "DELETE t FROM " + table + " AS t JOIN " + stage + " AS s ON " + myKeyMatch(key) + where
	}
	return insert
}

func myKeyMatch(key []string) string {
	m := make([]string, len(key))
	for i, k := range key {
		m[i] = "t." + mysqlconn.Col(k) + " = s." + mysqlconn.Col(k)
	}
	return strings.Join(m, " AND ")
}

func (w *myWriter) Write(ctx context.Context, b Batch) (Result, error) {
	p, err := w.plan(b)
	if err != nil {
		return Result{}, fmt.Errorf("load batch %d into %s: %w", b.Seq, w.table, err)
	}
	var res Result
	retry := func(err error) bool {
		var ce *commitError
		// A plain insert whose COMMIT got no answer may have landed;
		// retrying could double it, so the run fails and says so.
		return mysqlconn.Transient(err) && !(b.Op == OpAppend && errors.As(err, &ce))
	}
	err = mysqlconn.RetryIf(ctx, mysqlconn.DefaultRetry, retry, func(ctx context.Context) error {
		var err error
		res, err = w.writeOnce(ctx, p)
		return err
	})
	if err != nil {
		return Result{}, fmt.Errorf("load batch %d into %s: %w", b.Seq, w.table, err)
	}
	return res, nil
}

// errMyRejectLimit stops the search for bad rows past max_rejected.
var errMyRejectLimit = errors.New("past max_rejected")

// writeOnce stages the batch and applies it in one transaction. When the
// apply statement fails with a data error, it isolates the bad rows by
// splitting the staged rows in halves, inside the same transaction (a
// failed statement undoes only itself), and reports them; the rest is
// applied.
func (w *myWriter) writeOnce(ctx context.Context, p *myPlan) (Result, error) {
	conn, err := w.db.Conn(ctx)
	if err != nil {
		return Result{}, err
	}
	defer conn.Close()
	if p.direct != "" && !w.noDirect[p.b.Op].Load() {
		res, ok, err := w.writeDirect(ctx, conn, p)
		if err != nil || ok {
			return res, err
		}
		if p.b.Op != OpAppend {
			w.noDirect[p.b.Op].Store(true)
		}
	}
	sent, bad, err := w.stageBatch(ctx, conn, p)
	if err != nil {
		return Result{}, err
	}
	if stopRejecting(p.b, len(bad)) {
		return Result{}, &RejectLimitError{Failed: bad}
	}
	res := Result{Failed: bad}
	if len(sent) == 0 {
		return res, nil
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return Result{}, err
	}
	failed, err := w.apply(ctx, tx, p, sent, true)
	if err != nil {
		_ = tx.Rollback()
		if errors.Is(err, errMyRejectLimit) {
			return Result{}, &RejectLimitError{Failed: mySortRows(append(bad, failed...))}
		}
		return Result{}, err
	}
	res.Failed = mySortRows(append(res.Failed, failed...))
	if p.notHeld != "" {
		if res.NotHeld, err = w.notHeld(ctx, tx, p, failed); err != nil {
			_ = tx.Rollback()
			return Result{}, err
		}
	}
	if err := tx.Commit(); err != nil {
		return Result{}, &commitError{err}
	}
	return res, nil
}

// writeDirect loads the batch straight into the table, in a transaction
// it keeps only if the load drew no warning at all. LOAD DATA LOCAL turns
// every problem into a warning (a value clipped, a NULL made a default, a
// row skipped for its duplicate key), so a load without any inserted
// every row exactly as an INSERT would, and for insert and upsert found no
// key the table held. Otherwise (ok false) it rolls back, and the batch
// goes through staging, which tells the rows apart. This saves the copy
// through staging for a first load, an append and a replace.
func (w *myWriter) writeDirect(ctx context.Context, conn *sql.Conn, p *myPlan) (res Result, ok bool, err error) {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return Result{}, false, err
	}
	defer func() {
		if !ok || err != nil {
			_ = tx.Rollback()
		}
	}()
	_, bad, err := w.load(ctx, tx, p.b.Record, p.encs, false, p.loadHead, p.direct)
	if err != nil {
		if mysqlconn.RowLevel(err) {
			return Result{}, false, nil // an error even LOCAL does not turn into a warning
		}
		return Result{}, false, err
	}
	var warnings int
	if err := tx.QueryRowContext(ctx, "SELECT @@warning_count").Scan(&warnings); err != nil {
		return Result{}, false, err
	}
	if warnings > 0 {
		return Result{}, false, nil
	}
	if stopRejecting(p.b, len(bad)) {
		return Result{}, false, &RejectLimitError{Failed: bad}
	}
	if err := tx.Commit(); err != nil {
		return Result{}, false, &commitError{err}
	}
	return Result{Failed: bad}, true, nil
}

// stageBatch fills the connection's staging table with the batch: the
// rows sent, in order, and those left out because a value has no MySQL
// form or drew a warning on the way in.
func (w *myWriter) stageBatch(ctx context.Context, conn *sql.Conn, p *myPlan) (sent []int, bad []RowError, err error) {
	if err := w.ensureStage(ctx, conn, p); err != nil {
		return nil, nil, err
	}
	if _, err := conn.ExecContext(ctx, "TRUNCATE TABLE "+p.stage); err != nil {
		return nil, nil, fmt.Errorf("empty staging table: %w", err)
	}
	if sent, bad, err = w.load(ctx, conn, p.b.Record, p.encs, true, p.loadHead, p.loadTail); err != nil {
		return nil, nil, err
	}
	warned, err := w.loadWarnings(ctx, conn, sent)
	if err != nil || len(warned) == 0 {
		return sent, bad, err
	}
	drop := make([]any, len(warned))
	marks := make([]string, len(warned))
	gone := map[int]bool{}
	for i, re := range warned {
		drop[i], marks[i], gone[re.Row] = re.Row, "?", true
	}
	if _, err := conn.ExecContext(ctx, "DELETE FROM "+p.stage+" WHERE "+mysqlconn.Col(p.ord)+" IN ("+strings.Join(marks, ", ")+")", drop...); err != nil {
		return nil, nil, fmt.Errorf("drop staged rows that drew warnings: %w", err)
	}
	sent = slices.DeleteFunc(sent, func(i int) bool { return gone[i] })
	return sent, mySortRows(append(bad, warned...)), nil
}

// ensureStage creates the session's staging table for the batch's columns
// once per connection, outside the batch transaction.
func (w *myWriter) ensureStage(ctx context.Context, conn *sql.Conn, p *myPlan) error {
	var key any
	if err := conn.Raw(func(dc any) error { key = dc; return nil }); err != nil {
		return err
	}
	w.mu.Lock()
	done := w.stages[key][p.stageKey]
	w.mu.Unlock()
	if done {
		return nil
	}
	if _, err := conn.ExecContext(ctx, p.stageDDL); err != nil {
		return fmt.Errorf("create staging table: %w", err)
	}
	w.mu.Lock()
	if w.stages[key] == nil {
		w.stages[key] = map[string]bool{}
	}
	w.stages[key][p.stageKey] = true
	w.mu.Unlock()
	return nil
}

// myReaderTag makes LOAD DATA reader names unique across processes that
// share nothing but the driver's registry; myReaderSeq within one.
var (
	myReaderTag = func() string { var b [4]byte; _, _ = rand.Read(b[:]); return hex.EncodeToString(b[:]) }()
	myReaderSeq atomic.Uint64
)

var errMyLoadEnded = errors.New("LOAD DATA ended")

// myExecer is a connection or a transaction on it.
type myExecer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// load streams the record through LOAD DATA LOCAL INFILE (head + reader
// name + tail): an encoder writes the rows as LOAD DATA text into a pipe
// whose other end the driver sends to the server, registered under a name
// of its own. No file, and no copy of the whole batch.
func (w *myWriter) load(ctx context.Context, ex myExecer, rec arrow.RecordBatch, encs []myEncoder, ord bool, head, tail string) (sent []int, bad []RowError, err error) {
	name := "hoist_" + myReaderTag + "_" + strconv.FormatUint(myReaderSeq.Add(1), 10)
	pr, pw := io.Pipe()
	mysql.RegisterReaderHandler(name, func() io.Reader { return pr })
	defer mysql.DeregisterReaderHandler(name)
	rw := newMyRowWriter(rec, encs, ord)
	done := make(chan error, 1)
	go func() {
		s, b, err := rw.writeAll(bufio.NewWriterSize(pw, 64<<10), int(rec.NumRows()))
		sent, bad = s, b
		pw.CloseWithError(err) // nil: the reader sees EOF
		done <- err
	}()
	_, err = ex.ExecContext(ctx, head+name+tail)
	// the server may have stopped reading (an error): unblock the encoder
	pr.CloseWithError(errMyLoadEnded)
	encErr := <-done
	if err != nil {
		if c := mysqlconn.Code(err); c == 1148 || c == 3948 || c == 1290 {
			err = fmt.Errorf("%w (LOAD DATA LOCAL INFILE is disabled: the server needs local_infile=ON)", err)
		}
		return nil, nil, fmt.Errorf("load staging table: %w", err)
	}
	if encErr != nil {
		return nil, nil, fmt.Errorf("load staging table: %w", encErr)
	}
	return sent, bad, nil
}

var myWarningRow = regexp.MustCompile(`(?i)(?:\bat row|^row) (\d+)`)

// loadWarnings ties each warning of the LOAD DATA just run to the row it
// names ("… at row 3": line 3 of the stream): a value the staging column
// could not take exactly, such as text the table's character set cannot
// hold. A warning that names no row fails the batch: staging cannot be
// trusted then.
func (w *myWriter) loadWarnings(ctx context.Context, conn *sql.Conn, sent []int) ([]RowError, error) {
	rows, err := conn.QueryContext(ctx, "SHOW WARNINGS")
	if err != nil {
		return nil, fmt.Errorf("read staging warnings: %w", err)
	}
	defer rows.Close()
	var out []RowError
	seen := map[int]bool{}
	listed := 0
	for rows.Next() {
		var level, msg string
		var code int
		if err := rows.Scan(&level, &code, &msg); err != nil {
			return nil, fmt.Errorf("read staging warnings: %w", err)
		}
		listed++
		m := myWarningRow.FindStringSubmatch(msg)
		line := 0
		if m != nil {
			line, _ = strconv.Atoi(m[1])
		}
		if line < 1 || line > len(sent) {
			return nil, fmt.Errorf("staging the batch drew %s %d: %s", level, code, msg)
		}
		if row := sent[line-1]; !seen[row] {
			seen[row] = true
			out = append(out, RowError{Row: row, Msg: fmt.Sprintf("%s %d: %s", level, code, strings.Replace(msg, m[0], "", 1))})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read staging warnings: %w", err)
	}
	if listed > 0 {
		var total int
		if err := conn.QueryRowContext(ctx, "SELECT @@warning_count").Scan(&total); err == nil && total > listed {
			return nil, fmt.Errorf("staging the batch drew %d warnings, more than the %d the server lists (raise max_error_count)", total, listed)
		}
	}
	return out, nil
}

// apply runs the apply statement over the staged rows sent (all of them
// when whole), and on a data error splits them in halves until it finds
// the rows the server refuses. It asks Batch.Reject before each further
// statement and stops once the run is past max_rejected.
func (w *myWriter) apply(ctx context.Context, tx *sql.Tx, p *myPlan, sent []int, whole bool) ([]RowError, error) {
	var err error
	if whole {
		_, err = tx.ExecContext(ctx, p.apply)
	} else {
		_, err = tx.ExecContext(ctx, p.ranged, sent[0], sent[len(sent)-1])
	}
	if err == nil {
		return nil, nil
	}
	if !mysqlconn.RowLevel(err) {
		return nil, err
	}
	if len(sent) == 1 {
		fe := []RowError{{Row: sent[0], Msg: mysqlconn.ErrMsg(err)}}
		if stopRejecting(p.b, 1) {
			return fe, errMyRejectLimit
		}
		return fe, nil
	}
	if stopRejecting(p.b, 0) {
		return nil, errMyRejectLimit
	}
	half := len(sent) / 2
	left, err := w.apply(ctx, tx, p, sent[:half], false)
	if err != nil {
		return left, err
	}
	right, err := w.apply(ctx, tx, p, sent[half:], false)
	return append(left, right...), err
}

// notHeld lists the staged rows of an update that no key matched, less the
// rows the server refused (their update undone, they are rejected).
func (w *myWriter) notHeld(ctx context.Context, tx *sql.Tx, p *myPlan, failed []RowError) ([]int, error) {
	rows, err := tx.QueryContext(ctx, p.notHeld)
	if err != nil {
		return nil, fmt.Errorf("find rows not held: %w", err)
	}
	defer rows.Close()
	refused := map[int]bool{}
	for _, f := range failed {
		refused[f.Row] = true
	}
	n := int(p.b.Record.NumRows())
	var out []int
	for rows.Next() {
		var row int
		if err := rows.Scan(&row); err != nil {
			return nil, fmt.Errorf("find rows not held: %w", err)
		}
		if row < 0 || row >= n {
			return nil, fmt.Errorf("update answered row %d of a %d-row batch", row, n)
		}
		if !refused[row] {
			out = append(out, row)
		}
	}
	return out, rows.Err()
}

func mySortRows(rows []RowError) []RowError {
	slices.SortStableFunc(rows, func(a, b RowError) int { return a.Row - b.Row })
	return rows
}

// Commit has nothing to do: every batch committed on its own.
func (w *myWriter) Commit(context.Context) error { return nil }

// Abort has nothing to undo: acknowledged batches stay delivered.
func (w *myWriter) Abort(context.Context) error { return nil }

// Concurrency: batches are independent transactions on a pool.
func (w *myWriter) Concurrency() int { return 0 }

// BatchLimits implements BatchSizer: one LOAD DATA or statement and one commit per batch.
func (w *myWriter) BatchLimits() BatchLimits { return mergeBatch }
