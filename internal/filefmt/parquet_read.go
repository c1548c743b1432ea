package filefmt

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// parquetReader streams a Parquet file through pqarrow's record reader, which
// decodes one batch of rows at a time from one row group at a time: memory is
// bounded by the batch and a row group's column chunks, never the file. The
// batch is also bounded in bytes, and one value in size (parquet_bounds.go).
type parquetReader struct {
	refs atomic.Int64
	ctx  context.Context
	name string
	f    *file.Reader
	rr   pqarrow.RecordReader
	read int64 // rows handed out so far, for errors
	err  error
}

var _ array.RecordReader = (*parquetReader)(nil)

func openParquet(ctx context.Context, path string, opts ReadOptions) (array.RecordReader, error) {
	// A buffered stream reads column chunks through a small window rather
	// than whole: files written elsewhere (Spark, DuckDB) may have row groups
	// of hundreds of MB.
	props := parquet.NewReaderProperties(opts.alloc())
	props.BufferedStreamEnabled = true
	props.BufferSize = 1 << 20
	f, err := file.OpenParquetFile(path, false, file.WithReadProps(props))
	if err != nil {
		return nil, fmt.Errorf("%s: open parquet: %w", opts.Name, err)
	}
	rows, err := parquetBatchRows(opts.Name, f.MetaData(), opts.rows())
	if err != nil {
		f.Close()
		return nil, err
	}
	fr, err := pqarrow.NewFileReader(f, pqarrow.ArrowReadProperties{BatchSize: int64(rows)}, opts.alloc())
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: read parquet schema: %w", opts.Name, err)
	}
	rr, err := fr.GetRecordReader(ctx, nil, nil)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: read parquet: %w", opts.Name, err)
	}
	r := &parquetReader{ctx: ctx, name: opts.Name, f: f, rr: rr}
	r.refs.Add(1)
	return r, nil
}

func (r *parquetReader) Retain()                        { r.refs.Add(1) }
func (r *parquetReader) Schema() *arrow.Schema          { return r.rr.Schema() }
func (r *parquetReader) RecordBatch() arrow.RecordBatch { return r.rr.RecordBatch() }
func (r *parquetReader) Record() arrow.RecordBatch      { return r.rr.RecordBatch() }

func (r *parquetReader) Next() bool {
	if r.err != nil {
		return false
	}
	if err := r.ctx.Err(); err != nil {
		r.err = err
		return false
	}
	if !r.rr.Next() {
		return false
	}
	rec := r.rr.RecordBatch()
	if err := checkValueSizes(r.name, rec, r.read); err != nil {
		r.err = err
		return false
	}
	r.read += rec.NumRows()
	return true
}

func (r *parquetReader) Err() error {
	if r.err != nil {
		return r.err
	}
	if err := r.rr.Err(); err != nil {
		return fmt.Errorf("%s: read parquet: %w", r.name, err)
	}
	return nil
}

func (r *parquetReader) Release() {
	if r.refs.Add(-1) != 0 {
		return
	}
	r.rr.Release()
	r.f.Close()
}
