package extract

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/hoist-dev/hoist/internal/sqlitedb"
)

// sqliteCtxCheckRows is how often (in rows) the reader looks at ctx between the
// driver's own checks, so a cancel stops a long batch promptly.
const sqliteCtxCheckRows = 1024

// sqliteReader streams *sql.Rows into Arrow records. It holds one batch of
// builders at a time, so memory stays flat however large the table is.
type sqliteReader struct {
	refs atomic.Int64
	ctx  context.Context
	rows *sql.Rows

	names  []string
	kinds  []sqlitedb.Kind
	schema *arrow.Schema
	bld    *array.RecordBuilder
	batch  int

	// pending holds the rows read while inferring the types of columns
	// without a declared type; they go out first.
	pending   [][]any
	exhausted bool
	row       int64 // rows handed to builders so far, for messages

	vals []any
	ptrs []any
	cur  arrow.RecordBatch
	err  error
}

var _ array.RecordReader = (*sqliteReader)(nil)

func newSQLiteReader(ctx context.Context, rows *sql.Rows, req Request) (*sqliteReader, error) {
	types, err := rows.ColumnTypes()
	if err != nil {
		return nil, fmt.Errorf("read column types: %w", err)
	}
	r := &sqliteReader{ctx: ctx, rows: rows, batch: req.Rows()}
	r.names = make([]string, len(types))
	r.kinds = make([]sqlitedb.Kind, len(types))
	infer := 0
	for i, t := range types {
		r.names[i] = t.Name()
		r.kinds[i] = sqlitedb.KindOfDecl(t.DatabaseTypeName())
		if r.kinds[i] == sqlitedb.KindInfer {
			infer++
		}
	}
	r.vals = make([]any, len(types))
	r.ptrs = make([]any, len(types))
	for i := range r.vals {
		r.ptrs[i] = &r.vals[i]
	}
	if infer > 0 {
		if err := r.inferKinds(infer); err != nil {
			return nil, err
		}
	}
	fields := make([]arrow.Field, len(types))
	for i, k := range r.kinds {
		fields[i] = arrow.Field{Name: r.names[i], Type: k.Arrow(), Nullable: true}
	}
	r.schema = arrow.NewSchema(fields, nil)
	r.bld = array.NewRecordBuilder(req.Allocator(), r.schema)
	r.refs.Store(1)
	return r, nil
}

// inferKinds reads ahead (at most one batch) until every column without a
// declared type has shown a non-NULL value. A column that stays NULL
// throughout becomes a string column.
func (r *sqliteReader) inferKinds(unresolved int) error {
	for unresolved > 0 && len(r.pending) < r.batch {
		if !r.rows.Next() {
			r.exhausted = true
			if err := r.rows.Err(); err != nil {
				return fmt.Errorf("read row %d: %w", len(r.pending)+1, err)
			}
			break
		}
		vals := make([]any, len(r.kinds))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := r.rows.Scan(ptrs...); err != nil {
			return fmt.Errorf("read row %d: %w", len(r.pending)+1, err)
		}
		r.pending = append(r.pending, vals)
		for i, v := range vals {
			if r.kinds[i] == sqlitedb.KindInfer && v != nil {
				r.kinds[i] = sqlitedb.KindOfValue(v)
				unresolved--
			}
		}
	}
	for i, k := range r.kinds {
		if k == sqlitedb.KindInfer {
			r.kinds[i] = sqlitedb.KindString
		}
	}
	return nil
}

func (r *sqliteReader) Schema() *arrow.Schema { return r.schema }

func (r *sqliteReader) Err() error { return r.err }

func (r *sqliteReader) RecordBatch() arrow.RecordBatch { return r.cur }

// Record is the deprecated name of RecordBatch.
func (r *sqliteReader) Record() arrow.RecordBatch { return r.cur }

func (r *sqliteReader) Retain() { r.refs.Add(1) }

func (r *sqliteReader) Release() {
	if r.refs.Add(-1) != 0 {
		return
	}
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	r.bld.Release()
	r.rows.Close()
}

// Next builds the next record of up to batch rows.
func (r *sqliteReader) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if r.err != nil {
		return false
	}
	n := 0
	for ; n < r.batch && len(r.pending) > 0; n++ {
		if err := r.appendRow(r.pending[0]); err != nil {
			return r.fail(err)
		}
		r.pending[0] = nil
		r.pending = r.pending[1:]
	}
	for n < r.batch && !r.exhausted {
		if n%sqliteCtxCheckRows == 0 {
			if err := r.ctx.Err(); err != nil {
				return r.fail(err)
			}
		}
		if !r.rows.Next() {
			r.exhausted = true
			if err := r.rows.Err(); err != nil {
				return r.fail(fmt.Errorf("read row %d: %w", r.row+1, err))
			}
			break
		}
		if err := r.rows.Scan(r.ptrs...); err != nil {
			return r.fail(fmt.Errorf("read row %d: %w", r.row+1, err))
		}
		if err := r.appendRow(r.vals); err != nil {
			return r.fail(err)
		}
		n++
	}
	if n == 0 {
		// database/sql ends the rows quietly when ctx is cancelled at the
		// very end; report it rather than a clean finish.
		if err := r.ctx.Err(); err != nil {
			return r.fail(err)
		}
		return false
	}
	r.cur = r.bld.NewRecordBatch()
	return true
}

func (r *sqliteReader) fail(err error) bool {
	r.err = err
	r.rows.Close()
	return false
}

func (r *sqliteReader) appendRow(vals []any) error {
	r.row++
	for i, v := range vals {
		if err := appendSQLiteValue(r.bld.Field(i), r.kinds[i], v); err != nil {
			return fmt.Errorf("row %d column %q: %w", r.row, r.names[i], err)
		}
	}
	return nil
}

// appendSQLiteValue appends one driver value. SQLite stores any value in any
// column, so each kind accepts the storage classes that convert without loss
// and rejects the rest rather than guessing.
func appendSQLiteValue(b array.Builder, k sqlitedb.Kind, v any) error {
	if v == nil {
		b.AppendNull()
		return nil
	}
	switch k {
	case sqlitedb.KindInt:
		n, err := sqliteInt(v)
		if err != nil {
			return err
		}
		b.(*array.Int64Builder).Append(n)
	case sqlitedb.KindFloat:
		f, err := sqliteFloat(v)
		if err != nil {
			return err
		}
		b.(*array.Float64Builder).Append(f)
	case sqlitedb.KindString:
		s, err := sqliteString(v)
		if err != nil {
			return err
		}
		b.(*array.StringBuilder).Append(s)
	case sqlitedb.KindBinary:
		switch x := v.(type) {
		case []byte:
			b.(*array.BinaryBuilder).Append(x)
		case string:
			b.(*array.BinaryBuilder).AppendString(x)
		default:
			s, err := sqliteString(v)
			if err != nil {
				return err
			}
			b.(*array.BinaryBuilder).AppendString(s)
		}
	case sqlitedb.KindBool:
		t, err := sqliteBool(v)
		if err != nil {
			return err
		}
		b.(*array.BooleanBuilder).Append(t)
	case sqlitedb.KindDate:
		t, err := sqlitedb.ParseTime(v)
		if err != nil {
			return err
		}
		b.(*array.Date32Builder).Append(arrow.Date32FromTime(t))
	case sqlitedb.KindTimestamp:
		t, err := sqlitedb.ParseTime(v)
		if err != nil {
			return err
		}
		b.(*array.TimestampBuilder).Append(arrow.Timestamp(t.UnixMicro()))
	default:
		return fmt.Errorf("internal: unknown kind %d", k)
	}
	return nil
}

func sqliteInt(v any) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case float64:
		// A REAL in an INTEGER column: fine when it is a whole number.
		if x == math.Trunc(x) && x >= math.MinInt64 && x < math.MaxInt64 {
			return int64(x), nil
		}
		return 0, fmt.Errorf("%v is not an integer (CAST it in the query)", x)
	case string:
		return sqliteParseInt(x)
	case []byte:
		return sqliteParseInt(string(x))
	}
	return 0, fmt.Errorf("%T is not an integer", v)
}

func sqliteParseInt(s string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not an integer (CAST it in the query)", sqliteTrunc(s))
	}
	return n, nil
}

func sqliteFloat(v any) (float64, error) {
	switch x := v.(type) {
	case float64:
		return x, nil
	case int64:
		return float64(x), nil
	case string, []byte:
		s := strings.TrimSpace(sqliteText(x))
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a number (CAST it in the query)", sqliteTrunc(s))
		}
		return f, nil
	}
	return 0, fmt.Errorf("%T is not a number", v)
}

func sqliteString(v any) (string, error) {
	switch x := v.(type) {
	case string:
		if !utf8.ValidString(x) {
			return "", fmt.Errorf("text is not valid UTF-8")
		}
		return x, nil
	case []byte:
		if !utf8.Valid(x) {
			return "", fmt.Errorf("blob in a text column is not valid UTF-8 (read it as BLOB)")
		}
		return string(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case float64:
		return sqlitedb.FormatNumber(x), nil
	case time.Time:
		return sqlitedb.FormatTimestamp(x), nil
	}
	return "", fmt.Errorf("%T is not text", v)
}

func sqliteBool(v any) (bool, error) {
	switch x := v.(type) {
	case int64:
		return x != 0, nil
	case float64:
		return x != 0, nil
	case bool:
		return x, nil
	case string, []byte:
		s := strings.ToLower(strings.TrimSpace(sqliteText(x)))
		switch s {
		case "1", "t", "true", "y", "yes", "on":
			return true, nil
		case "0", "f", "false", "n", "no", "off":
			return false, nil
		}
		return false, fmt.Errorf("%q is not a boolean", sqliteTrunc(s))
	}
	return false, fmt.Errorf("%T is not a boolean", v)
}

func sqliteText(v any) string {
	if b, ok := v.([]byte); ok {
		return string(b)
	}
	s, _ := v.(string)
	return s
}

// sqliteTrunc keeps a bad value short in an error message.
func sqliteTrunc(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}
