package filefmt

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// checked returns an allocator that fails the test if any Arrow buffer is
// still allocated when the test ends.
func checked(t *testing.T) *memory.CheckedAllocator {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return mem
}

var sampleSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "email", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "properties.full_name", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "is_active", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	{Name: "signup_date", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	{Name: "updated_at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "lifetime_value", Type: &arrow.Decimal128Type{Precision: 12, Scale: 2}, Nullable: true},
}, nil)

// sampleRecord builds n rows of sampleSchema starting at id from; every
// seventh row has NULLs, names carry commas, quotes, newlines and non-ASCII
// text, so the text formats' quoting is exercised.
func sampleRecord(mem memory.Allocator, from, n int) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, sampleSchema)
	defer b.Release()
	base := time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)
	names := []string{"Ada Lovelace", `Bob "the builder", Jr.`, "Zoë Ünal", "line\nbreak", "日本語"}
	for i := from; i < from+n; i++ {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		if i%7 == 3 {
			for f := 1; f < len(sampleSchema.Fields()); f++ {
				b.Field(f).AppendNull()
			}
			continue
		}
		b.Field(1).(*array.StringBuilder).Append(strings.ToLower("user" + strconv.Itoa(i) + "@example.com"))
		b.Field(2).(*array.StringBuilder).Append(names[i%len(names)])
		b.Field(3).(*array.Float64Builder).Append(float64(i) + 0.25)
		b.Field(4).(*array.BooleanBuilder).Append(i%2 == 0)
		b.Field(5).(*array.Date32Builder).Append(arrow.Date32FromTime(base.AddDate(0, 0, -i)))
		ts, _ := arrow.TimestampFromTime(base.Add(time.Duration(i)*time.Minute), arrow.Microsecond)
		b.Field(6).(*array.TimestampBuilder).Append(ts)
		b.Field(7).(*array.Decimal128Builder).Append(decimal128.FromI64(int64(i)*100 + 37))
	}
	return b.NewRecordBatch()
}

// canon renders a cell so values that survive a text format's type
// inference compare equal: decimals lose trailing zeros (a CSV reads
// "12.30" back as the float 12.3), timestamps are RFC 3339 in UTC.
func canon(arr arrow.Array, i int) string {
	if arr.IsNull(i) {
		return "<null>"
	}
	switch a := arr.(type) {
	case *array.Decimal128:
		s := a.Value(i).ToString(a.DataType().(*arrow.Decimal128Type).Scale)
		if strings.Contains(s, ".") {
			s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
		}
		return s
	case *array.Timestamp:
		return a.Value(i).ToTime(a.DataType().(*arrow.TimestampType).Unit).UTC().Format(time.RFC3339Nano)
	}
	return arr.ValueStr(i)
}

// drain reads every record of rr into rows of canonical cells.
func drain(t *testing.T, rr array.RecordReader) ([][]string, error) {
	t.Helper()
	var rows [][]string
	for rr.Next() {
		rec := rr.RecordBatch()
		for i := range int(rec.NumRows()) {
			row := make([]string, rec.NumCols())
			for c := range int(rec.NumCols()) {
				row[c] = canon(rec.Column(c), i)
			}
			rows = append(rows, row)
		}
	}
	return rows, rr.Err()
}

func recordRows(rec arrow.RecordBatch) [][]string {
	var rows [][]string
	for i := range int(rec.NumRows()) {
		row := make([]string, rec.NumCols())
		for c := range int(rec.NumCols()) {
			row[c] = canon(rec.Column(c), i)
		}
		rows = append(rows, row)
	}
	return rows
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// encodeFile writes recs into path in format.
func encodeFile(t *testing.T, path, format string, schema *arrow.Schema, recs ...arrow.RecordBatch) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	enc, err := NewEncoder(f, format, schema, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := enc.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
}

func newSchema(fields []arrow.Field) *arrow.Schema { return arrow.NewSchema(fields, nil) }

// newRecord takes the first n columns of rec under schema.
func newRecord(schema *arrow.Schema, rec arrow.RecordBatch, n int) arrow.RecordBatch {
	return array.NewRecordBatch(schema, rec.Columns()[:n], rec.NumRows())
}
