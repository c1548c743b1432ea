// Command parquetcmp measures the two Parquet libraries hoist could use, on
// the quickstart's customers shape, the way hoist uses them: hoist's pipeline
// moves Arrow record batches, so a writer starts from Arrow records and a
// reader must end with Arrow records.
//
//   - pqarrow (apache/arrow-go/v18/parquet/pqarrow) writes and reads Arrow
//     records directly.
//   - parquet-go (github.com/parquet-go/parquet-go) writes and reads Go
//     structs, so records are converted to structs before writing and
//     structs are appended to Arrow builders after reading.
//
// Both write zstd with 128k-row row groups (hoist's settings) and read in
// batches of 8192 rows. It lives in its own module so the hoist binary does
// not carry a second Parquet library:
//
//	cd bench/parquetcmp && go run . [-rows 1000000]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	pq "github.com/parquet-go/parquet-go"
)

const (
	batchRows    = 8192
	rowGroupRows = 128 * 1024
)

var schema = arrow.NewSchema([]arrow.Field{
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

// Customer is the same row as a Go struct, for parquet-go.
type Customer struct {
	ID            int64  `parquet:"id"`
	Email         string `parquet:"email"`
	Name          string `parquet:"name"`
	Country       string `parquet:"country"`
	Plan          string `parquet:"plan"`
	LifetimeValue int64  `parquet:"lifetime_value,decimal(2:12)"`
	IsActive      bool   `parquet:"is_active"`
	SignupDate    int32  `parquet:"signup_date,date"`
	UpdatedAt     int64  `parquet:"updated_at,timestamp(microsecond)"`
}

func main() {
	rows := flag.Int("rows", 1_000_000, "rows to write and read")
	dir := flag.String("dir", "", "folder for the files (default: a temp folder)")
	flag.Parse()
	if err := run(*rows, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "parquetcmp:", err)
		os.Exit(1)
	}
}

func run(rows int, dir string) error {
	if dir == "" {
		d, err := os.MkdirTemp("", "parquetcmp-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	a, b := filepath.Join(dir, "pqarrow.parquet"), filepath.Join(dir, "parquet-go.parquet")
	a2 := filepath.Join(dir, "pqarrow-plain.parquet")
	fmt.Printf("%d rows of the quickstart customers shape, %s/%s, GOMAXPROCS=%d\n", rows, runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0))
	fmt.Printf("%-32s %12s %12s %14s %10s\n", "case", "seconds", "rows/s", "peak heap MB", "file MB")
	cases := []struct {
		name string
		path string
		fn   func() error
	}{
		{"generate only (baseline)", "", func() error { return generateOnly(rows) }},
		{"write pqarrow", a, func() error { return writePQArrow(a, rows) }},
		{"write pqarrow, no dictionary", a2, func() error { return writePQArrow(a2, rows, parquet.WithDictionaryDefault(false)) }},
		{"write parquet-go rows", b, func() error { return writeParquetGoRows(b, rows) }},
		{"write parquet-go structs", b, func() error { return writeParquetGo(b, rows) }},
		{"read pqarrow", a, func() error { return readPQArrow(a, rows) }},
		{"read pqarrow, no dictionary", a2, func() error { return readPQArrow(a2, rows) }},
		{"read parquet-go rows", b, func() error { return readParquetGoRows(b, rows) }},
		{"read parquet-go structs", b, func() error { return readParquetGo(b, rows) }},
		{"read parquet-go's file, pqarrow", b, func() error { return readPQArrow(b, rows) }},
	}
	for _, c := range cases {
		secs, peak, err := measure(c.fn)
		if err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		size := ""
		if c.path != "" {
			if st, err := os.Stat(c.path); err == nil {
				size = fmt.Sprintf("%.1f", float64(st.Size())/1e6)
			}
		}
		fmt.Printf("%-32s %12.2f %12.0f %14.1f %10s\n", c.name, secs, float64(rows)/secs, float64(peak)/1e6, size)
	}
	return nil
}

// measure runs fn after a GC and samples the live heap every millisecond,
// returning wall seconds and the peak heap above the starting point.
func measure(fn func() error) (float64, uint64, error) {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 { metrics.Read(sample); return sample[0].Value.Uint64() }
	base := read()
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if v := read(); v > base && v-base > peak.Load() {
					peak.Store(v - base)
				}
			}
		}
	}()
	start := time.Now()
	err := fn()
	secs := time.Since(start).Seconds()
	close(stop)
	wg.Wait()
	return secs, peak.Load(), err
}

// gen fills b with rows [from, from+n) of deterministic, realistic-looking
// customers (the same values every run).
type gen struct{ state uint64 }

func (g *gen) next() uint64 { // splitmix64
	g.state += 0x9E3779B97F4A7C15
	z := g.state
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

var (
	firsts    = []string{"ada", "alan", "alice", "amara", "ben", "carlos", "chen", "diego", "elena", "emma", "felix", "grace", "hana", "hugo", "ivan", "julia", "kai", "lars", "maya", "noah", "olga", "priya", "rosa", "sofia", "theo", "wei", "yara", "zoe"}
	lasts     = []string{"anderson", "baker", "costa", "dubois", "garcia", "hansen", "ito", "kim", "lee", "lopez", "martin", "meyer", "nguyen", "patel", "rossi", "sato", "schmidt", "silva", "smith", "tanaka", "wang", "weber"}
	countries = []string{"US", "US", "US", "GB", "DE", "FR", "CA", "AU", "NL", "BR", "IN", "JP", "ES", "IT"}
	plans     = []string{"free", "free", "free", "free", "free", "starter", "starter", "pro", "enterprise"}
	epoch     = time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)
)

func (g *gen) fill(b *array.RecordBuilder, from, n int) {
	for id := from; id < from+n; id++ {
		f, l := firsts[g.next()%uint64(len(firsts))], lasts[g.next()%uint64(len(lasts))]
		day := int32(g.next() % 2556)
		b.Field(0).(*array.Int64Builder).Append(int64(id))
		b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("%s.%s%d@example.com", f, l, id))
		b.Field(2).(*array.StringBuilder).Append(f + " " + l)
		b.Field(3).(*array.StringBuilder).Append(countries[g.next()%uint64(len(countries))])
		plan := plans[g.next()%uint64(len(plans))]
		b.Field(4).(*array.StringBuilder).Append(plan)
		cents := int64(0)
		if plan != "free" {
			cents = int64(g.next() % 2_000_000)
		}
		b.Field(5).(*array.Decimal128Builder).Append(decimal128.FromI64(cents))
		b.Field(6).(*array.BooleanBuilder).Append(g.next()%100 < 85)
		b.Field(7).(*array.Date32Builder).Append(arrow.Date32(int32(epoch.Unix()/86400) + day))
		ts := epoch.AddDate(0, 0, int(day)).UnixMicro() + int64(g.next()%(200*86400*1_000_000))
		b.Field(8).(*array.TimestampBuilder).Append(arrow.Timestamp(ts))
	}
}

// batches calls fn with each generated record of rows rows in all.
func batches(rows int, fn func(arrow.RecordBatch) error) error {
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	g := &gen{state: 42}
	for from := 1; from <= rows; from += batchRows {
		g.fill(b, from, min(batchRows, rows-from+1))
		rec := b.NewRecordBatch()
		err := fn(rec)
		rec.Release()
		if err != nil {
			return err
		}
	}
	return nil
}

func generateOnly(rows int) error {
	return batches(rows, func(arrow.RecordBatch) error { return nil })
}

func writePQArrow(path string, rows int, opts ...parquet.WriterProperty) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	props := parquet.NewWriterProperties(append([]parquet.WriterProperty{parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithMaxRowGroupLength(rowGroupRows)}, opts...)...)
	fw, err := pqarrow.NewFileWriter(schema, f, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return err
	}
	if err := batches(rows, fw.WriteBuffered); err != nil {
		return err
	}
	return fw.Close()
}

func writeParquetGo(path string, rows int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w := pq.NewGenericWriter[Customer](f, pq.Compression(&pq.Zstd), pq.MaxRowsPerRowGroup(rowGroupRows))
	buf := make([]Customer, 0, batchRows)
	err = batches(rows, func(rec arrow.RecordBatch) error {
		buf = toStructs(rec, buf[:0])
		_, err := w.Write(buf)
		return err
	})
	if err != nil {
		return err
	}
	return w.Close()
}

// toStructs is the conversion a parquet-go writer in hoist would need.
func toStructs(rec arrow.RecordBatch, out []Customer) []Customer {
	id := rec.Column(0).(*array.Int64)
	email, name := rec.Column(1).(*array.String), rec.Column(2).(*array.String)
	country, plan := rec.Column(3).(*array.String), rec.Column(4).(*array.String)
	ltv := rec.Column(5).(*array.Decimal128)
	active := rec.Column(6).(*array.Boolean)
	signup := rec.Column(7).(*array.Date32)
	updated := rec.Column(8).(*array.Timestamp)
	for i := range int(rec.NumRows()) {
		out = append(out, Customer{
			ID: id.Value(i), Email: email.Value(i), Name: name.Value(i), Country: country.Value(i),
			Plan: plan.Value(i), LifetimeValue: int64(ltv.Value(i).LowBits()), IsActive: active.Value(i),
			SignupDate: int32(signup.Value(i)), UpdatedAt: int64(updated.Value(i)),
		})
	}
	return out
}

func readPQArrow(path string, rows int) error {
	f, err := file.OpenParquetFile(path, false)
	if err != nil {
		return err
	}
	defer f.Close()
	fr, err := pqarrow.NewFileReader(f, pqarrow.ArrowReadProperties{BatchSize: batchRows}, memory.DefaultAllocator)
	if err != nil {
		return err
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		return err
	}
	defer rr.Release()
	n := 0
	for rr.Next() {
		n += int(rr.RecordBatch().NumRows())
	}
	if err := rr.Err(); err != nil {
		return err
	}
	return checkRows(n, rows)
}

func readParquetGo(path string, rows int) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := pq.NewGenericReader[Customer](f)
	defer r.Close()
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	buf := make([]Customer, batchRows)
	n := 0
	for {
		k, err := r.Read(buf)
		if k > 0 {
			fromStructs(b, buf[:k])
			rec := b.NewRecordBatch()
			n += int(rec.NumRows())
			rec.Release()
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return err
		}
	}
	return checkRows(n, rows)
}

// fromStructs is the conversion a parquet-go reader in hoist would need.
func fromStructs(b *array.RecordBuilder, rows []Customer) {
	for _, c := range rows {
		b.Field(0).(*array.Int64Builder).Append(c.ID)
		b.Field(1).(*array.StringBuilder).Append(c.Email)
		b.Field(2).(*array.StringBuilder).Append(c.Name)
		b.Field(3).(*array.StringBuilder).Append(c.Country)
		b.Field(4).(*array.StringBuilder).Append(c.Plan)
		b.Field(5).(*array.Decimal128Builder).Append(decimal128.FromI64(c.LifetimeValue))
		b.Field(6).(*array.BooleanBuilder).Append(c.IsActive)
		b.Field(7).(*array.Date32Builder).Append(arrow.Date32(c.SignupDate))
		b.Field(8).(*array.TimestampBuilder).Append(arrow.Timestamp(c.UpdatedAt))
	}
}

func checkRows(got, want int) error {
	if got != want {
		return fmt.Errorf("read %d rows, want %d", got, want)
	}
	return nil
}

// The struct API needs the row type at compile time; hoist's schemas come
// from the user's spec at run time, so hoist would have to use parquet-go's
// dynamic API: a schema built at run time and rows of parquet.Value.

var pqSchema = pq.SchemaOf(new(Customer))

// pqColumns maps Arrow column i to its parquet-go leaf column index.
func pqColumns() []int {
	out := make([]int, schema.NumFields())
	for i, f := range schema.Fields() {
		leaf, ok := pqSchema.Lookup(f.Name)
		if !ok {
			panic("no column " + f.Name)
		}
		out[i] = leaf.ColumnIndex
	}
	return out
}

func writeParquetGoRows(path string, rows int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w := pq.NewWriter(f, pqSchema, pq.Compression(&pq.Zstd), pq.MaxRowsPerRowGroup(rowGroupRows))
	cols := pqColumns()
	buf := make([]pq.Row, 0, batchRows)
	err = batches(rows, func(rec arrow.RecordBatch) error {
		buf = buf[:0]
		id := rec.Column(0).(*array.Int64)
		email, name := rec.Column(1).(*array.String), rec.Column(2).(*array.String)
		country, plan := rec.Column(3).(*array.String), rec.Column(4).(*array.String)
		ltv := rec.Column(5).(*array.Decimal128)
		active := rec.Column(6).(*array.Boolean)
		signup := rec.Column(7).(*array.Date32)
		updated := rec.Column(8).(*array.Timestamp)
		for i := range int(rec.NumRows()) {
			row := make(pq.Row, 9)
			row[cols[0]] = pq.Int64Value(id.Value(i)).Level(0, 0, cols[0])
			row[cols[1]] = pq.ByteArrayValue([]byte(email.Value(i))).Level(0, 0, cols[1])
			row[cols[2]] = pq.ByteArrayValue([]byte(name.Value(i))).Level(0, 0, cols[2])
			row[cols[3]] = pq.ByteArrayValue([]byte(country.Value(i))).Level(0, 0, cols[3])
			row[cols[4]] = pq.ByteArrayValue([]byte(plan.Value(i))).Level(0, 0, cols[4])
			row[cols[5]] = pq.Int64Value(int64(ltv.Value(i).LowBits())).Level(0, 0, cols[5])
			row[cols[6]] = pq.BooleanValue(active.Value(i)).Level(0, 0, cols[6])
			row[cols[7]] = pq.Int32Value(int32(signup.Value(i))).Level(0, 0, cols[7])
			row[cols[8]] = pq.Int64Value(int64(updated.Value(i))).Level(0, 0, cols[8])
			buf = append(buf, row)
		}
		_, err := w.WriteRows(buf)
		return err
	})
	if err != nil {
		return err
	}
	return w.Close()
}

func readParquetGoRows(path string, rows int) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := pq.NewReader(f)
	defer r.Close()
	cols := pqColumns()
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	buf := make([]pq.Row, batchRows)
	n := 0
	for {
		k, err := r.ReadRows(buf)
		for _, row := range buf[:k] {
			b.Field(0).(*array.Int64Builder).Append(row[cols[0]].Int64())
			b.Field(1).(*array.StringBuilder).Append(string(row[cols[1]].ByteArray()))
			b.Field(2).(*array.StringBuilder).Append(string(row[cols[2]].ByteArray()))
			b.Field(3).(*array.StringBuilder).Append(string(row[cols[3]].ByteArray()))
			b.Field(4).(*array.StringBuilder).Append(string(row[cols[4]].ByteArray()))
			b.Field(5).(*array.Decimal128Builder).Append(decimal128.FromI64(row[cols[5]].Int64()))
			b.Field(6).(*array.BooleanBuilder).Append(row[cols[6]].Boolean())
			b.Field(7).(*array.Date32Builder).Append(arrow.Date32(row[cols[7]].Int32()))
			b.Field(8).(*array.TimestampBuilder).Append(arrow.Timestamp(row[cols[8]].Int64()))
		}
		if k > 0 {
			rec := b.NewRecordBatch()
			n += int(rec.NumRows())
			rec.Release()
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return err
		}
	}
	return checkRows(n, rows)
}
