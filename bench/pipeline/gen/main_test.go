package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// TestWrite reads the generated file back: row count, one row group per
// -rowgroup rows (the generator's unit of memory), the stored schema and the
// values of a row.
func TestWrite(t *testing.T) {
	for _, tc := range []struct {
		name             string
		rows, group      int
		wantGroups       int
		checkRow, wantID int64
	}{
		{"empty", 0, 10, 0, -1, 0},
		{"one partial group", 7, 10, 1, 6, 7},
		{"exact groups", 30, 10, 3, 29, 30},
		{"last group partial", 25, 10, 3, 20, 21},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			var buf bytes.Buffer
			if err := write(&buf, mem, tc.rows, tc.group); err != nil {
				t.Fatal(err)
			}
			pf, err := file.NewParquetReader(bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			defer pf.Close()
			if got := pf.NumRowGroups(); got != tc.wantGroups {
				t.Fatalf("row groups %d, want %d", got, tc.wantGroups)
			}
			fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, mem)
			if err != nil {
				t.Fatal(err)
			}
			tbl, err := fr.ReadTable(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer tbl.Release()
			// names and exact types (field metadata differs after a round trip)
			got, want := tbl.Schema(), Schema()
			if got.NumFields() != want.NumFields() {
				t.Fatalf("schema\n%v\nwant\n%v", got, want)
			}
			for i, f := range want.Fields() {
				if g := got.Field(i); g.Name != f.Name || !arrow.TypeEqual(g.Type, f.Type) {
					t.Fatalf("field %d: %s %v, want %s %v", i, g.Name, g.Type, f.Name, f.Type)
				}
			}
			if tbl.NumRows() != int64(tc.rows) {
				t.Fatalf("rows %d, want %d", tbl.NumRows(), tc.rows)
			}
			if tc.checkRow < 0 {
				return
			}
			tr := array.NewTableReader(tbl, tbl.NumRows())
			defer tr.Release()
			tr.Next()
			rec := tr.RecordBatch()
			id := rec.Column(0).(*array.Int64).Value(int(tc.checkRow))
			email := rec.Column(1).(*array.String).Value(int(tc.checkRow))
			ts := rec.Column(8).(*array.Timestamp).Value(int(tc.checkRow))
			if id != tc.wantID || email == "" || ts.ToTime(arrow.Microsecond).Year() < 2020 {
				t.Fatalf("row %d: id %d email %q updated_at %v", tc.checkRow, id, email, ts)
			}
		})
	}
}
