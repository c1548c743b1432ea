package filefmt

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

func TestCSVInference(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		values []string
		want   arrow.DataType
	}{
		{"ints", []string{"1", "-2", "", "300"}, arrow.PrimitiveTypes.Int64},
		{"ints and floats", []string{"1", "2.5", "1e3"}, arrow.PrimitiveTypes.Float64},
		{"bools", []string{"true", "FALSE", "True"}, arrow.FixedWidthTypes.Boolean},
		{"0/1 stay ints", []string{"0", "1"}, arrow.PrimitiveTypes.Int64},
		{"dates", []string{"2024-01-31", "1999-12-01"}, arrow.FixedWidthTypes.Date32},
		{"zoned timestamps", []string{"2024-01-31T10:00:00Z", "2024-02-01 09:30:00.5+02:00"}, tsType},
		{"nanosecond timestamps", []string{"2024-01-31T10:00:00.123456789Z"}, tsNsType},
		{"zone-less timestamps stay text", []string{"2024-01-31 10:00:00"}, arrow.BinaryTypes.String},
		{"dates and timestamps mixed", []string{"2024-01-31", "2024-01-31T10:00:00Z"}, arrow.BinaryTypes.String},
		{"NaN is a word", []string{"NaN", "1.5"}, arrow.BinaryTypes.String},
		{"all empty", []string{"", ""}, arrow.BinaryTypes.String},
		{"leading zeros kept as int", []string{"007"}, arrow.PrimitiveTypes.Int64},
		{"text", []string{"1", "x"}, arrow.BinaryTypes.String},
		// More digits than a float64 keeps: exact decimal, or text past 38.
		{"38-digit decimal", []string{"12345678901234567890.123456789012345678", "1.5"}, &arrow.Decimal128Type{Precision: 38, Scale: 18}},
		{"20-digit integer", []string{"12345678901234567890", "-1"}, &arrow.Decimal128Type{Precision: 20, Scale: 0}},
		{"16 significant digits", []string{"0.1234567890123456"}, &arrow.Decimal128Type{Precision: 16, Scale: 16}},
		{"15 digits stay float", []string{"123456789.012345", "0.5"}, arrow.PrimitiveTypes.Float64},
		{"trailing zeros are not significant", []string{"1.50000000000000000000"}, arrow.PrimitiveTypes.Float64},
		{"long digits with an exponent stay float", []string{"1.2345678901234567890", "1e3"}, arrow.PrimitiveTypes.Float64},
		{"past 38 digits stays text", []string{"123456789012345678901234567890.1234567890"}, arrow.BinaryTypes.String},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			content := "v\n"
			for _, v := range tt.values {
				if v == "" {
					content += "\"\"\n" // a lone empty field needs quotes to be a row
					continue
				}
				content += "\"" + v + "\"\n"
			}
			mem := checked(t)
			path := writeFile(t, t.TempDir(), "x.csv", content)
			rr, err := Open(context.Background(), path, CSV, ReadOptions{Alloc: mem})
			if err != nil {
				t.Fatal(err)
			}
			defer rr.Release()
			if got := rr.Schema().Field(0).Type; !arrow.TypeEqual(got, tt.want) {
				t.Fatalf("type = %s, want %s", got, tt.want)
			}
			n, err := drain(t, rr)
			if err != nil {
				t.Fatal(err)
			}
			if len(n) != len(tt.values) {
				t.Fatalf("read %d rows, want %d", len(n), len(tt.values))
			}
		})
	}
}

func TestJSONLInference(t *testing.T) {
	t.Parallel()
	content := `{"id":1,"price":2,"tags":["a","b"],"ok":true,"when":"2024-01-31T10:00:00Z","zip":"01234","props":{"plan":"pro","seats":{"max":3}}}
{"id":2,"price":2.5,"tags":[],"ok":false,"when":null,"zip":"99999","props":{"plan":"free"},"mixed":1}
{"id":3,"price":null,"ok":null,"when":"2024-02-01T00:00:00+01:00","zip":"","mixed":"x"}
`
	want := []struct {
		name string
		typ  arrow.DataType
	}{
		{"id", arrow.PrimitiveTypes.Int64},
		{"price", arrow.PrimitiveTypes.Float64},
		{"tags", arrow.BinaryTypes.String},
		{"ok", arrow.FixedWidthTypes.Boolean},
		{"when", tsType},
		{"zip", arrow.BinaryTypes.String}, // quoted digits stay text
		{"props.plan", arrow.BinaryTypes.String},
		{"props.seats.max", arrow.PrimitiveTypes.Int64},
		{"mixed", arrow.BinaryTypes.String},
	}
	mem := checked(t)
	path := writeFile(t, t.TempDir(), "x.jsonl", content)
	rr, err := Open(context.Background(), path, JSONL, ReadOptions{Alloc: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	s := rr.Schema()
	if s.NumFields() != len(want) {
		t.Fatalf("schema %s, want %d columns", describeSchema(s), len(want))
	}
	for i, w := range want {
		if f := s.Field(i); f.Name != w.name || !arrow.TypeEqual(f.Type, w.typ) {
			t.Errorf("column %d = %s %s, want %s %s", i, f.Name, f.Type, w.name, w.typ)
		}
	}
	rows, err := drain(t, rr)
	if err != nil {
		t.Fatal(err)
	}
	if got := rows[0][2]; got != `["a","b"]` {
		t.Errorf("tags = %s, want the array's JSON text", got)
	}
	if got := rows[1][8]; got != "1" {
		t.Errorf("mixed = %s, want 1 as text", got)
	}
	if got := rows[2][5]; got != "" {
		t.Errorf("zip = %q, want the empty string kept (not NULL)", got)
	}
	if got := rows[2][4]; got != "2024-01-31T23:00:00Z" {
		t.Errorf("when = %s, want it in UTC", got)
	}
}

// TestLongNumbersReadExactly reads numbers with more digits than a float64
// keeps, from CSV and JSON Lines, and checks every digit comes back.
func TestLongNumbersReadExactly(t *testing.T) {
	t.Parallel()
	vals := []string{"12345678901234567890.123456789012345678", "-0.000000000000000001", "99999999999999999999.999999999999999999"}
	for _, format := range []string{CSV, JSONL} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			content := "amount\n"
			for _, v := range vals {
				content += v + "\n"
			}
			if format == JSONL {
				content = ""
				for _, v := range vals {
					content += `{"amount":` + v + "}\n"
				}
			}
			mem := checked(t)
			path := writeFile(t, t.TempDir(), "x"+Ext(format), content)
			rr, err := Open(context.Background(), path, format, ReadOptions{Alloc: mem})
			if err != nil {
				t.Fatal(err)
			}
			defer rr.Release()
			want := &arrow.Decimal128Type{Precision: 38, Scale: 18}
			if got := rr.Schema().Field(0).Type; !arrow.TypeEqual(got, want) {
				t.Fatalf("type = %s, want %s", got, want)
			}
			if !rr.Next() {
				t.Fatalf("no record: %v", rr.Err())
			}
			col := rr.RecordBatch().Column(0).(*array.Decimal128)
			for i, v := range vals {
				if got := col.Value(i).ToString(18); got != v {
					t.Errorf("row %d = %s, want %s", i, got, v)
				}
			}
		})
	}
}

// TestJSONLFloatSpecialsRoundTrip: NaN and ±Inf, which JSON numbers cannot
// be, are written as strings and read back into a float column, not null.
func TestJSONLFloatSpecialsRoundTrip(t *testing.T) {
	t.Parallel()
	mem := checked(t)
	schema := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Float64, Nullable: true}}, nil)
	b := array.NewRecordBuilder(mem, schema)
	b.Field(0).(*array.Float64Builder).AppendValues([]float64{1.5, math.NaN(), math.Inf(1), math.Inf(-1), 0}, []bool{true, true, true, true, false})
	rec := b.NewRecordBatch()
	b.Release()
	path := filepath.Join(t.TempDir(), "f.jsonl")
	encodeFile(t, path, JSONL, schema, rec)
	rec.Release()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := "{\"x\":1.5}\n{\"x\":\"NaN\"}\n{\"x\":\"Infinity\"}\n{\"x\":\"-Infinity\"}\n{\"x\":null}\n"; string(data) != want {
		t.Fatalf("file:\n%s\nwant:\n%s", data, want)
	}
	rr, err := Open(context.Background(), path, JSONL, ReadOptions{Alloc: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	if got := rr.Schema().Field(0).Type; !arrow.TypeEqual(got, arrow.PrimitiveTypes.Float64) {
		t.Fatalf("read back as %s, want float64", got)
	}
	if !rr.Next() {
		t.Fatalf("no record: %v", rr.Err())
	}
	col := rr.RecordBatch().Column(0).(*array.Float64)
	if !(col.Value(0) == 1.5 && math.IsNaN(col.Value(1)) && math.IsInf(col.Value(2), 1) && math.IsInf(col.Value(3), -1) && col.IsNull(4)) {
		t.Fatalf("read back %v", col)
	}
}

// FuzzNumberInference: whatever a lone number is, when inference picks
// decimal128 for it the value parses into that type and prints back with the
// same digits (no value inferred decimal can fail to read or change).
func FuzzNumberInference(f *testing.F) {
	for _, s := range []string{"12345678901234567890.123456789012345678", "-0.0000000000000000012", "+1234567890123456.5", "00001234567890123456789", ".1234567890123456789", "1234567890123456789.", "1e30", "-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		g := newTextGuess()
		g.add(s)
		dt, ok := g.typ().(*arrow.Decimal128Type)
		if !ok {
			return
		}
		n, err := decimal128.FromString(s, dt.Precision, dt.Scale)
		if err != nil {
			t.Fatalf("%q inferred %s but does not parse: %v", s, dt, err)
		}
		back, err := decimal128.FromString(n.ToString(dt.Scale), dt.Precision, dt.Scale)
		if err != nil || back != n {
			t.Fatalf("%q as %s prints %s, which reads back as %v (%v)", s, dt, n.ToString(dt.Scale), back, err)
		}
	})
}
