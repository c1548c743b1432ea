package filefmt

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet/metadata"
)

// Parquet compresses well enough that a 1 MB gzip file can hold 16 strings
// of 64 MiB each: read 8192 rows at a time, as for small rows, it took
// gigabytes. The reader bounds memory two ways, from the footer before any
// page is decompressed, and on every batch:
//   - a batch holds about parquetBatchBytes of values: its row count comes
//     from the widest row group's uncompressed bytes per row;
//   - a value larger than MaxValueBytes is an error naming file, column and
//     row group (footer) or row (batch), never gigabytes of RSS: no
//     destination hoist writes takes such a cell (HTTP APIs and CRMs cap
//     fields at kilobytes to a few MB).
const (
	parquetBatchBytes = 64 << 20
	MaxValueBytes     = 16 << 20
)

// parquetBatchRows checks the footer's sizes against MaxValueBytes and
// returns how many rows a batch may hold (at most want, at least 1).
func parquetBatchRows(name string, md *metadata.FileMetaData, want int) (int, error) {
	var rowBytes int64
	for g := 0; g < md.NumRowGroups(); g++ {
		rg := md.RowGroup(g)
		rows := rg.NumRows()
		if rows <= 0 {
			continue
		}
		var total int64
		for c := 0; c < rg.NumColumns(); c++ {
			cc, err := rg.ColumnChunk(c)
			if err != nil {
				return 0, fmt.Errorf("%s: read parquet footer: row group %d column %d: %w", name, g, c, err)
			}
			size := cc.TotalUncompressedSize()
			if per := size / rows; per > MaxValueBytes {
				return 0, fmt.Errorf("%s: column %s: row group %d expands to %s uncompressed for %d rows (%s a value), past hoist's limit of %s for one value",
					name, cc.PathInSchema(), g, mib(size), rows, mib(per), mib(MaxValueBytes))
			}
			total += size
		}
		rowBytes = max(rowBytes, (total+rows-1)/rows)
	}
	if rowBytes == 0 {
		return want, nil
	}
	return int(max(1, min(int64(want), parquetBatchBytes/rowBytes))), nil
}

// checkValueSizes fails on a string or binary value past MaxValueBytes in a
// batch; first is the file row (0-based) of the batch's first row. The
// footer check catches a column of large values; this catches one large
// value among small ones.
func checkValueSizes(name string, rec arrow.RecordBatch, first int64) error {
	for c, col := range rec.Columns() {
		var long func(i int) int64
		switch a := col.(type) {
		case *array.String:
			long = func(i int) int64 { return int64(a.ValueLen(i)) }
		case *array.Binary:
			long = func(i int) int64 { return int64(a.ValueLen(i)) }
		case *array.LargeString:
			long = func(i int) int64 { return int64(a.ValueLen(i)) }
		case *array.LargeBinary:
			long = func(i int) int64 { return int64(a.ValueLen(i)) }
		default:
			continue
		}
		for i := 0; i < col.Len(); i++ {
			if n := long(i); n > MaxValueBytes {
				return fmt.Errorf("%s: row %d: column %s: a value of %s, past hoist's limit of %s for one value",
					name, first+int64(i)+1, rec.ColumnName(c), mib(n), mib(MaxValueBytes))
			}
		}
	}
	return nil
}

func mib(n int64) string {
	if n >= 10<<20 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
