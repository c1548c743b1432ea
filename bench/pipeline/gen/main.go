// Command gen writes an N-row Parquet file of customers in the quickstart's
// shape for the pipeline benchmark (bench/pipeline/run.sh).
//
//	go run ./bench/pipeline/gen -rows 1000000 -out /tmp/customers.parquet
//
// Rows are built and written one row group at a time and released before the
// next, so the generator's memory does not grow with -rows. Values depend
// only on the row index: the same -rows gives the same file content.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// defaultRowGroup matches the order of magnitude warehouse exports use; it is
// also the generator's unit of memory.
const defaultRowGroup = 64 * 1024

var (
	countries = []string{"US", "GB", "DE", "FR", "NL", "SE", "ES", "IT", "CA", "AU", "JP", "BR"}
	plans     = []string{"free", "starter", "pro", "enterprise"}
	firsts    = []string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Ken", "Margaret", "Linus", "Radia"}
	lasts     = []string{"Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Thompson", "Hamilton", "Torvalds", "Perlman"}
	// epoch is the first signup; updated_at follows it by the row's index.
	epoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
)

// Schema is the quickstart's customers table.
func Schema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "email", Type: arrow.BinaryTypes.String},
		{Name: "name", Type: arrow.BinaryTypes.String},
		{Name: "country", Type: arrow.BinaryTypes.String},
		{Name: "plan", Type: arrow.BinaryTypes.String},
		{Name: "lifetime_value", Type: &arrow.Decimal128Type{Precision: 12, Scale: 2}},
		{Name: "is_active", Type: arrow.FixedWidthTypes.Boolean},
		{Name: "signup_date", Type: arrow.FixedWidthTypes.Date32},
		{Name: "updated_at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
	}, nil)
}

func main() {
	rows := flag.Int("rows", 100_000, "number of rows")
	out := flag.String("out", "customers.parquet", "output file")
	group := flag.Int("rowgroup", defaultRowGroup, "rows per row group")
	flag.Parse()
	if err := run(*out, *rows, *group); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(path string, rows, group int) error {
	if rows < 0 || group <= 0 {
		return fmt.Errorf("want -rows >= 0 and -rowgroup > 0")
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if err := write(f, memory.DefaultAllocator, rows, group); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	return nil
}

// write streams rows into w, one row group per record.
func write(w io.Writer, mem memory.Allocator, rows, group int) error {
	props := parquet.NewWriterProperties(
		parquet.WithCompression(compress.Codecs.Snappy),
		parquet.WithMaxRowGroupLength(int64(group)),
		parquet.WithAllocator(mem),
	)
	// struct{io.Writer} hides Close: pqarrow would otherwise close the
	// caller's file, which reports its own close error.
	fw, err := pqarrow.NewFileWriter(Schema(), struct{ io.Writer }{w}, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema(), pqarrow.WithAllocator(mem)))
	if err != nil {
		return err
	}
	b := array.NewRecordBuilder(mem, Schema())
	defer b.Release()
	for start := 0; start < rows; start += group {
		end := min(start+group, rows)
		for i := start; i < end; i++ {
			appendRow(b, i)
		}
		rec := b.NewRecordBatch()
		err := fw.Write(rec)
		rec.Release()
		if err != nil {
			fw.Close()
			return fmt.Errorf("row group at row %d: %w", start, err)
		}
	}
	return fw.Close()
}

// appendRow appends customer i; ids start at 1.
func appendRow(b *array.RecordBuilder, i int) {
	id := int64(i + 1)
	first, last := firsts[i%len(firsts)], lasts[(i/len(firsts))%len(lasts)]
	b.Field(0).(*array.Int64Builder).Append(id)
	b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("customer%d@example.com", id))
	b.Field(2).(*array.StringBuilder).Append(first + " " + last)
	b.Field(3).(*array.StringBuilder).Append(countries[i%len(countries)])
	b.Field(4).(*array.StringBuilder).Append(plans[(i*7)%len(plans)])
	b.Field(5).(*array.Decimal128Builder).Append(decimal128.FromI64(int64(i*7919) % 10_000_000))
	b.Field(6).(*array.BooleanBuilder).Append(i%5 != 0)
	signup := epoch.AddDate(0, 0, i%1500)
	b.Field(7).(*array.Date32Builder).Append(arrow.Date32FromTime(signup))
	b.Field(8).(*array.TimestampBuilder).Append(arrow.Timestamp(signup.Add(time.Duration(i%86400) * time.Second).UnixMicro()))
}
