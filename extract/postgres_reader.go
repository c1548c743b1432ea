package extract

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hoist-dev/hoist/internal/pgconn"
	"github.com/hoist-dev/hoist/internal/pgwire"
)

// pgReader turns a streaming result into Arrow records of req.Rows() rows.
// It holds the connection only while rows remain: the stream's end returns
// the connection to the pool even if the caller keeps the reader around.
type pgReader struct {
	refs   atomic.Int64
	ctx    context.Context
	sync   string
	conn   *pgxpool.Conn
	tx     pgx.Tx
	rows   pgx.Rows
	schema *arrow.Schema
	rb     *array.RecordBuilder
	decs   []pgwire.Decoder
	batch  int
	rec    arrow.RecordBatch
	err    error
	done   bool
}

var _ array.RecordReader = (*pgReader)(nil)

func newPGReader(ctx context.Context, req *Request, conn *pgxpool.Conn, tx pgx.Tx, rows pgx.Rows) (*pgReader, error) {
	fds := rows.FieldDescriptions()
	fields := make([]arrow.Field, len(fds))
	seen := make(map[string]bool, len(fds))
	for i, fd := range fds {
		dt, ok := pgwire.ArrowType(fd.DataTypeOID, fd.TypeModifier)
		if !ok {
			rows.Close()
			return nil, fmt.Errorf("column %q has type %s, which hoist cannot read (cast it in the query, e.g. %s::text)",
				fd.Name, typeName(ctx, tx, fd.DataTypeOID, fd.TypeModifier), pgconn.Col(fd.Name))
		}
		if seen[fd.Name] {
			rows.Close()
			return nil, fmt.Errorf("column %q appears twice in the result (alias one of them)", fd.Name)
		}
		seen[fd.Name] = true
		fields[i] = arrow.Field{Name: fd.Name, Type: dt, Nullable: true, Metadata: pgTypeMetadata(fd.DataTypeOID, fd.TypeModifier, dt)}
	}
	r := &pgReader{ctx: ctx, sync: req.Sync, conn: conn, tx: tx, rows: rows, batch: req.Rows()}
	r.refs.Store(1)
	r.schema = arrow.NewSchema(fields, nil)
	r.rb = array.NewRecordBuilder(req.Allocator(), r.schema)
	r.decs = make([]pgwire.Decoder, len(fds))
	for i, fd := range fds {
		d, err := pgwire.NewDecoder(fd.DataTypeOID, fd.TypeModifier, r.rb.Field(i))
		if err != nil {
			r.rb.Release()
			rows.Close()
			return nil, fmt.Errorf("column %q: %w", fd.Name, err)
		}
		r.decs[i] = d
	}
	return r, nil
}

// typeName names an unsupported type for the error message; it runs after
// the result is closed, on the same transaction.
func typeName(ctx context.Context, tx pgx.Tx, oid uint32, typmod int32) string {
	var name string
	if err := tx.QueryRow(ctx, "SELECT format_type($1::oid, $2::int4)", oid, typmod).Scan(&name); err != nil {
		return fmt.Sprintf("oid %d", oid)
	}
	return name
}

func (r *pgReader) Retain() { r.refs.Add(1) }

func (r *pgReader) Release() {
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

func (r *pgReader) Schema() *arrow.Schema { return r.schema }

func (r *pgReader) RecordBatch() arrow.RecordBatch { return r.rec }

// Record returns the current record.
//
// Deprecated: use RecordBatch (kept for array.RecordReader).
func (r *pgReader) Record() arrow.RecordBatch { return r.rec }

func (r *pgReader) Err() error { return r.err }

func (r *pgReader) Next() bool {
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
	for n < r.batch && r.rows.Next() {
		vals := r.rows.RawValues()
		for i, v := range vals {
			if err := r.decs[i](v); err != nil {
				r.fail(fmt.Errorf("column %q: %w", r.schema.Field(i).Name, err))
				return false
			}
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

func (r *pgReader) fail(err error) {
	r.err = fmt.Errorf("sync %s: read postgres: %w", r.sync, err)
	r.finish()
	// Drop any half-built row (columns may differ in length) so builders
	// hold nothing.
	for _, b := range r.rb.Fields() {
		b.NewArray().Release()
	}
}

// finish closes the result and the read-only transaction and returns the
// connection; it is idempotent.
func (r *pgReader) finish() {
	if r.done {
		return
	}
	r.done = true
	if r.rows.Next() || r.ctx.Err() != nil {
		// Rows remain (an error, a cancel, or a caller that stopped early):
		// draining them could take minutes, so drop the connection instead;
		// the server ends the query when it next writes to the socket.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = r.conn.Conn().Close(ctx)
		cancel()
	}
	r.rows.Close()
	if err := r.rows.Err(); err != nil && r.err == nil && !errors.Is(err, context.Canceled) {
		r.err = fmt.Errorf("sync %s: read postgres: %w", r.sync, err)
	}
	pgconn.Rollback(r.tx) // read-only: nothing to commit
	r.conn.Release()
}

// PGTypeKey is the Arrow field metadata key naming the Postgres type a text
// column came from (json, jsonb, uuid, and numeric read as exact text: one
// without a precision or with more than 38 digits), so that a Postgres
// destination's create_table can give it back its type instead of text.
const PGTypeKey = "hoist.pg_type"

func pgTypeMetadata(oid uint32, typmod int32, dt arrow.DataType) arrow.Metadata {
	var name string
	switch oid {
	case pgtype.NumericOID:
		if dt.ID() != arrow.STRING {
			return arrow.Metadata{} // decimal128 carries its precision itself
		}
		name = "numeric"
		if p, s, ok := pgwire.TypmodPrecision(typmod); ok && p >= 1 && s >= 0 && s <= p {
			name = fmt.Sprintf("numeric(%d,%d)", p, s)
		}
	case pgtype.JSONOID:
		name = "json"
	case pgtype.JSONBOID:
		name = "jsonb"
	case pgtype.UUIDOID:
		name = "uuid"
	default:
		return arrow.Metadata{}
	}
	return arrow.NewMetadata([]string{PGTypeKey}, []string{name})
}
