package diff

import (
	"bytes"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestRowAppender: one appender decodes many rows into the right fields,
// whatever the schema's order against the encoded (by name) order, falls
// back to a lookup for a row whose fields come in another order, and names
// a field its schema lacks.
func TestRowAppender(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := testRecord(t, mem)
	defer rec.Release()
	enc := NewRowEncoder(rec)
	rb := array.NewRecordBuilder(mem, rec.Schema())
	defer rb.Release()
	app := NewRowAppender(rb)
	var rows [][]byte
	for i := 0; i < int(rec.NumRows()); i++ {
		rows = append(rows, enc.Append(nil, i))
		if err := app.Append(rows[i]); err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
	}
	back := rb.NewRecord()
	defer back.Release()
	// (compared re-encoded: NaN is not equal to itself)
	enc2 := NewRowEncoder(back)
	for i, want := range rows {
		if got := enc2.Append(nil, i); !bytes.Equal(got, want) {
			t.Fatalf("row %d decoded differently: %v", i, back)
		}
	}

	// A row naming its fields in another order than the encoder's (two
	// fields swapped by hand) still lands in the right fields.
	small := arrow.NewSchema([]arrow.Field{{Name: "b", Type: arrow.BinaryTypes.String}, {Name: "a", Type: arrow.PrimitiveTypes.Int64}}, nil)
	sb := array.NewRecordBuilder(mem, small)
	defer sb.Release()
	sb.Field(0).(*array.StringBuilder).Append("x")
	sb.Field(1).(*array.Int64Builder).Append(7)
	one := sb.NewRecord()
	defer one.Release()
	row := NewRowEncoder(one).Append(nil, 0) // a, then b
	fields, err := DecodeRow(row)
	if err != nil || len(fields) != 2 {
		t.Fatalf("decode: %v %v", fields, err)
	}
	aPart := row[1:bytes.Index(row, []byte("\x01b"))]
	swapped := append([]byte{2}, row[bytes.Index(row, []byte("\x01b")):]...)
	swapped = append(swapped, aPart...)
	ob := array.NewRecordBuilder(mem, small)
	defer ob.Release()
	if err := NewRowAppender(ob).Append(swapped); err != nil {
		t.Fatalf("swapped row: %v", err)
	}
	got := ob.NewRecord()
	defer got.Release()
	if !array.RecordEqual(one, got) {
		t.Fatalf("swapped row decoded as %v, want %v", got, one)
	}

	// A field the schema lacks is named.
	other := arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.PrimitiveTypes.Int64}}, nil)
	xb := array.NewRecordBuilder(mem, other)
	defer xb.Release()
	if err := NewRowAppender(xb).Append(row); err == nil || !strings.Contains(err.Error(), `row field "b" is not in the schema`) {
		t.Fatalf("err = %v", err)
	}
	xb.NewRecord().Release()
}

// BenchmarkAppendRow decodes the test record's rows by looking each field
// up (AppendRow) and through one RowAppender.
func BenchmarkAppendRow(b *testing.B) {
	mem := memory.NewGoAllocator()
	rec := testRecord(b, mem)
	defer rec.Release()
	enc := NewRowEncoder(rec)
	var rows [][]byte
	for i := 0; i < int(rec.NumRows()); i++ {
		rows = append(rows, enc.Append(nil, i))
	}
	for _, tc := range []struct {
		name string
		app  func(rb *array.RecordBuilder) func([]byte) error
	}{
		{"lookup", func(rb *array.RecordBuilder) func([]byte) error {
			return func(r []byte) error { return AppendRow(rb, r) }
		}},
		{"appender", func(rb *array.RecordBuilder) func([]byte) error { return NewRowAppender(rb).Append }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			rb := array.NewRecordBuilder(mem, rec.Schema())
			defer rb.Release()
			app := tc.app(rb)
			for i := 0; b.Loop(); i++ {
				if err := app(rows[i%len(rows)]); err != nil {
					b.Fatal(err)
				}
				if i%4096 == 4095 {
					rb.NewRecord().Release()
				}
			}
		})
	}
}
