package filefmt

import (
	"bytes"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
)

func TestParquetCompression(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{{Name: "s", Type: arrow.BinaryTypes.String}}, nil)
	b := array.NewRecordBuilder(mem, schema)
	b.Field(0).(*array.StringBuilder).AppendValues([]string{"a", "b", "c"}, nil)
	rec := b.NewRecordBatch()
	b.Release()
	defer rec.Release()
	for name, want := range map[string]compress.Compression{
		"": compress.Codecs.Snappy, "snappy": compress.Codecs.Snappy, "zstd": compress.Codecs.Zstd,
		"gzip": compress.Codecs.Gzip, "none": compress.Codecs.Uncompressed,
	} {
		var buf bytes.Buffer
		enc, err := NewEncoder(&buf, Parquet, schema, WriteOptions{Compression: name, Alloc: mem})
		if err != nil {
			t.Fatal(err)
		}
		if err := enc.Write(rec); err != nil {
			t.Fatal(err)
		}
		if err := enc.Close(); err != nil {
			t.Fatal(err)
		}
		r, err := file.NewParquetReader(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		col, err := r.MetaData().RowGroup(0).ColumnChunk(0)
		if err != nil {
			t.Fatal(err)
		}
		if got := col.Compression(); got != want {
			t.Errorf("compression %q wrote %s, want %s", name, got, want)
		}
		r.Close()
	}
	if _, err := NewEncoder(&bytes.Buffer{}, Parquet, schema, WriteOptions{Compression: "lz5"}); err == nil {
		t.Fatal("unknown codec accepted")
	}
}
