package filefmt

import (
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Encoder writes record batches into one file.
type Encoder interface {
	// Write encodes rec. CSV and JSONL hand each batch to the underlying
	// writer in a single Write call, so a caller appending to a file can cut
	// a failed batch off by truncating to the size before it.
	Write(rec arrow.RecordBatch) error
	// Close finishes the file (Parquet's footer, CSV's header when no row
	// was written) and flushes it. It does not close the underlying writer.
	Close() error
}

// WriteOptions tune an encoder.
type WriteOptions struct {
	// NoHeader leaves out CSV's header row (appending to an existing file).
	NoHeader bool
	// Compression is the Parquet codec: snappy (default), zstd, gzip or none.
	Compression string
	Alloc       memory.Allocator
}

// NewEncoder returns an encoder writing schema's records in format to w.
func NewEncoder(w io.Writer, format string, schema *arrow.Schema, opts WriteOptions) (Encoder, error) {
	if opts.Alloc == nil {
		opts.Alloc = memory.DefaultAllocator
	}
	switch format {
	case Parquet:
		return newParquetEncoder(w, schema, opts)
	case CSV:
		return newCSVEncoder(w, schema, opts)
	case JSONL:
		return newJSONLEncoder(w, schema)
	}
	return nil, Check(format)
}

// Conform returns rec under schema: batches built elsewhere (a reader's, with
// pqarrow's field-id metadata) carry equal columns under a different schema
// value, which arrow's writers refuse. The caller releases the result.
func Conform(rec arrow.RecordBatch, schema *arrow.Schema) (arrow.RecordBatch, error) {
	if rec.Schema() == schema || rec.Schema().Equal(schema) {
		rec.Retain()
		return rec, nil
	}
	if !SameColumns(rec.Schema(), schema) {
		return nil, fmt.Errorf("batch schema %s does not match the file's %s", describeSchema(rec.Schema()), describeSchema(schema))
	}
	return array.NewRecordBatch(schema, rec.Columns(), rec.NumRows()), nil
}
