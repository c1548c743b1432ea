package filefmt

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// ReadOptions tune a reader.
type ReadOptions struct {
	// Rows is the target number of rows per record (8192 if 0).
	Rows int
	// Alloc allocates every Arrow buffer (memory.DefaultAllocator if nil).
	Alloc memory.Allocator
	// Schema, for CSV and JSONL, reads with these columns and types instead of
	// inferring them; the file's header (CSV) must name the same columns.
	Schema *arrow.Schema
	// SchemaFrom names the file Schema was inferred from, for errors.
	SchemaFrom string
	// InferRows is how many rows inference looks at (DefaultInferRows if 0).
	InferRows int
	// Name is how errors name the file (the path if empty).
	Name string
}

func (o *ReadOptions) rows() int {
	if o.Rows > 0 {
		return o.Rows
	}
	return 8192
}

func (o *ReadOptions) alloc() memory.Allocator {
	if o.Alloc != nil {
		return o.Alloc
	}
	return memory.DefaultAllocator
}

func (o *ReadOptions) inferRows() int {
	if o.InferRows > 0 {
		return o.InferRows
	}
	return DefaultInferRows
}

// Open opens one file for reading. The caller releases the reader.
func Open(ctx context.Context, path, format string, opts ReadOptions) (array.RecordReader, error) {
	if opts.Name == "" {
		opts.Name = path
	}
	switch format {
	case Parquet:
		return openParquet(ctx, path, opts)
	case CSV:
		return openCSV(ctx, path, opts)
	case JSONL:
		return openJSONL(ctx, path, opts)
	}
	return nil, Check(format)
}

// rowSource yields the rows of a text format one at a time.
type rowSource interface {
	// next appends one row to bld, returning false at the end of the file.
	next(bld *array.RecordBuilder) (bool, error)
	close() error
}

// batchReader turns a rowSource into an array.RecordReader of up to rows rows
// per record. A row that fails to parse fails the reader without emitting the
// partial record, so no half-read batch ever reaches a destination.
type batchReader struct {
	refs   atomic.Int64
	ctx    context.Context
	schema *arrow.Schema
	bld    *array.RecordBuilder
	src    rowSource
	rows   int
	cur    arrow.RecordBatch
	err    error
	done   bool
}

var _ array.RecordReader = (*batchReader)(nil)

func newBatchReader(ctx context.Context, schema *arrow.Schema, src rowSource, opts ReadOptions) *batchReader {
	r := &batchReader{ctx: ctx, schema: schema, src: src, rows: opts.rows(),
		bld: array.NewRecordBuilder(opts.alloc(), schema)}
	r.refs.Add(1)
	return r
}

func (r *batchReader) Retain()                        { r.refs.Add(1) }
func (r *batchReader) Schema() *arrow.Schema          { return r.schema }
func (r *batchReader) RecordBatch() arrow.RecordBatch { return r.cur }
func (r *batchReader) Record() arrow.RecordBatch      { return r.cur }
func (r *batchReader) Err() error                     { return r.err }

func (r *batchReader) Release() {
	if r.refs.Add(-1) != 0 {
		return
	}
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	r.bld.Release()
	if err := r.src.close(); err != nil && r.err == nil {
		r.err = err
	}
}

func (r *batchReader) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if r.err != nil || r.done {
		return false
	}
	n := 0
	for n < r.rows {
		if n%1024 == 0 {
			if err := r.ctx.Err(); err != nil {
				return r.fail(err)
			}
		}
		ok, err := r.src.next(r.bld)
		if err != nil {
			return r.fail(err)
		}
		if !ok {
			r.done = true
			break
		}
		n++
	}
	if n == 0 {
		return false
	}
	r.cur = r.bld.NewRecordBatch()
	return true
}

// fail records err and drops the rows built so far.
func (r *batchReader) fail(err error) bool {
	r.err = err
	// Field by field: a row that failed half-way leaves columns of unequal
	// length, which NewRecordBatch would refuse.
	for _, b := range r.bld.Fields() {
		b.NewArray().Release()
	}
	return false
}

// errSchema reports a file whose columns differ from the schema it must share.
func errSchema(name, from string, have, want []string) error {
	if from == "" {
		return fmt.Errorf("%s: columns %v, want %v", name, have, want)
	}
	return fmt.Errorf("%s: columns %v differ from %s's %v (every file of one source needs the same columns)", name, have, from, want)
}

var errEmpty = errors.New("empty file")

func fieldNames(s *arrow.Schema) []string {
	out := make([]string, s.NumFields())
	for i, f := range s.Fields() {
		out[i] = f.Name
	}
	return out
}
