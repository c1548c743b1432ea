package extract

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// mysqlReader turns a streaming result into Arrow records of req.Rows()
// rows. It holds the connection only while rows remain: the stream's end
// returns it to the pool even if the caller keeps the reader around.
type mysqlReader struct {
	refs   atomic.Int64
	ctx    context.Context
	cancel context.CancelFunc // ends the read's statement and connection
	sync   string
	conn   *sql.Conn
	stmt   *sql.Stmt
	rows   *sql.Rows
	schema *arrow.Schema
	rb     *array.RecordBuilder
	dest   []any // one *mysqlScanner a column
	batch  int
	rec    arrow.RecordBatch
	err    error
	ended  bool // rows.Next said there are no more
	done   bool
}

var _ array.RecordReader = (*mysqlReader)(nil)

func newMySQLReader(ctx context.Context, cancel context.CancelFunc, req *Request, conn *sql.Conn, stmt *sql.Stmt,
	rows *sql.Rows, cts []*sql.ColumnType, details []string, tinyBool bool) (*mysqlReader, error) {
	cols := make([]mysqlColumn, len(cts))
	fields := make([]arrow.Field, len(cts))
	seen := make(map[string]bool, len(cts))
	for i, ct := range cts {
		detail := ""
		if details != nil {
			detail = details[i]
		}
		c, err := mysqlArrowField(ct, detail, tinyBool)
		if err != nil {
			return nil, err
		}
		if ct.DatabaseTypeName() == "TINYINT" && tinyBool && details == nil {
			return nil, fmt.Errorf("tinyint1_as_bool: the column types of the result could not be looked up")
		}
		if seen[c.field.Name] {
			return nil, fmt.Errorf("column %q appears twice in the result (alias one of them)", c.field.Name)
		}
		seen[c.field.Name] = true
		cols[i], fields[i] = c, c.field
	}
	r := &mysqlReader{ctx: ctx, cancel: cancel, sync: req.Sync, conn: conn, stmt: stmt, rows: rows, batch: req.Rows()}
	r.refs.Store(1)
	r.schema = arrow.NewSchema(fields, nil)
	r.rb = array.NewRecordBuilder(req.Allocator(), r.schema)
	r.dest = make([]any, len(cols))
	for i, c := range cols {
		s, err := newMySQLScanner(c, r.rb.Field(i))
		if err != nil {
			r.rb.Release()
			return nil, fmt.Errorf("column %q: %w", c.field.Name, err)
		}
		r.dest[i] = s
	}
	return r, nil
}

func (r *mysqlReader) Retain() { r.refs.Add(1) }

func (r *mysqlReader) Release() {
	if r.refs.Add(-1) != 0 {
		return
	}
	if r.rec != nil {
		r.rec.Release()
		r.rec = nil
	}
	r.finish()
	r.rb.Release()
}

func (r *mysqlReader) Schema() *arrow.Schema { return r.schema }

func (r *mysqlReader) RecordBatch() arrow.RecordBatch { return r.rec }

// Record returns the current record.
//
// Deprecated: use RecordBatch (kept for array.RecordReader).
func (r *mysqlReader) Record() arrow.RecordBatch { return r.rec }

func (r *mysqlReader) Err() error { return r.err }

func (r *mysqlReader) Next() bool {
	if r.rec != nil {
		r.rec.Release()
		r.rec = nil
	}
	if r.done {
		return false
	}
	if err := r.ctx.Err(); err != nil {
		r.fail(err)
		return false
	}
	n := 0
	for n < r.batch {
		if !r.rows.Next() {
			r.ended = true
			break
		}
		if err := r.rows.Scan(r.dest...); err != nil {
			r.fail(r.scanError(err))
			return false
		}
		n++
	}
	if n < r.batch {
		// The result ended (or broke): surface its error and give the
		// connection back now rather than at Release.
		if err := r.rows.Err(); err != nil {
			if ctxErr := r.ctx.Err(); ctxErr != nil {
				err = ctxErr
			}
			r.fail(err)
			return false
		}
		r.finish()
		if n == 0 {
			return false
		}
	}
	r.rec = r.rb.NewRecordBatch()
	return true
}

// scanError names the column whose value failed to decode, without
// database/sql's "Scan error on column index" wording.
func (r *mysqlReader) scanError(err error) error {
	var ve *mysqlValueError
	if errors.As(err, &ve) {
		return fmt.Errorf("column %q: %w", ve.col, ve.err)
	}
	return err
}

func (r *mysqlReader) fail(err error) {
	r.err = fmt.Errorf("sync %s: read mysql: %w", r.sync, err)
	r.finish()
	// Drop any half-built row (columns may differ in length) so builders
	// hold nothing.
	for _, b := range r.rb.Fields() {
		b.NewArray().Release()
	}
}

// finish ends the statement and returns the connection; it is idempotent.
func (r *mysqlReader) finish() {
	if r.done {
		return
	}
	r.done = true
	if !r.ended || r.ctx.Err() != nil {
		// Rows remain (an error, a cancel, or a caller that stopped early):
		// the driver would read every one of them on Close, which could
		// take minutes, so the connection goes instead; the server ends
		// the query when it next writes to the socket.
		r.cancel()
	}
	r.rows.Close()
	if err := r.rows.Err(); err != nil && r.err == nil && !errors.Is(err, context.Canceled) {
		r.err = fmt.Errorf("sync %s: read mysql: %w", r.sync, err)
	}
	r.stmt.Close()
	r.conn.Close()
	r.cancel()
}
