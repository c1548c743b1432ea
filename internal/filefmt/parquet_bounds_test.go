package filefmt

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// writeBlobs writes a gzip Parquet file of (id, blob) rows whose blob is
// size(i) bytes of one letter: a few KB on disk for many MiB decoded.
// Dictionary encoding is off, as in files that other tools write.
func writeBlobs(t *testing.T, path string, n int, size func(i int) int) {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "blob", Type: arrow.BinaryTypes.String}}, nil)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := pqarrow.NewFileWriter(schema, f, parquet.NewWriterProperties(
		parquet.WithCompression(compress.Codecs.Gzip), parquet.WithDictionaryDefault(false)), pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := 0; i < n; i++ {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.StringBuilder).Append(strings.Repeat("a", size(i)))
		rec := b.NewRecordBatch()
		err := w.WriteBuffered(rec)
		rec.Release()
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestParquetDecompressionBounded: a small compressed file whose values
// expand past MaxValueBytes fails naming the file and column (from the
// footer when the column is wide, at the batch when one value is), and wide
// rows are read in batches of bounded bytes instead of 8192 rows at a time.
func TestParquetDecompressionBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes ~200 MiB")
	}
	dir := t.TempDir()
	tests := []struct {
		name string
		n    int
		size func(int) int
		want string
	}{
		{"every value too large", 3, func(int) int { return MaxValueBytes + 1<<20 },
			"wide.parquet: column blob: row group 0 expands to"},
		{"one value too large among small ones", 5000, func(i int) int {
			if i == 4321 {
				return MaxValueBytes + 1
			}
			return 10
		}, "wide.parquet: row 4322: column blob: a value of 16 MiB, past hoist's limit of 16 MiB"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "wide.parquet")
			writeBlobs(t, path, tc.n, tc.size)
			if st, _ := os.Stat(path); st.Size() > 1<<20 {
				t.Fatalf("test file is %d bytes, want a small one", st.Size())
			}
			mem := checked(t)
			_, err := readAll(t, path, Parquet, ReadOptions{Alloc: mem, Name: "wide.parquet"})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	t.Run("wide rows read in bounded batches", func(t *testing.T) {
		const rows, size = 48, 4 << 20 // 192 MiB decoded
		path := filepath.Join(dir, "rows.parquet")
		writeBlobs(t, path, rows, func(int) int { return size })
		pa := &peakAllocator{Allocator: checked(t)}
		rr, err := Open(context.Background(), path, Parquet, ReadOptions{Alloc: pa})
		if err != nil {
			t.Fatal(err)
		}
		defer rr.Release()
		n := 0
		for rr.Next() {
			if got := rr.RecordBatch().NumRows(); got > parquetBatchBytes/size {
				t.Fatalf("batch of %d rows of %d MiB, want at most %d", got, size>>20, parquetBatchBytes/size)
			}
			n += int(rr.RecordBatch().NumRows())
		}
		if err := rr.Err(); err != nil || n != rows {
			t.Fatalf("read %d rows, err %v", n, err)
		}
		// a batch, a decompressed page or two, the reader's buffers: well
		// under the 192 MiB that 8192-row batches held at once
		if peak := pa.peak.Load(); peak > 3*parquetBatchBytes/2 {
			t.Fatalf("peak Arrow memory %d MiB, want at most %d MiB", peak>>20, 3*parquetBatchBytes/2>>20)
		}
	})
}
