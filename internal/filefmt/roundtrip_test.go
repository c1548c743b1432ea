package filefmt

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

// TestRoundTrip writes records with each encoder and reads them back with
// the reader: Parquet keeps every type exactly; CSV and JSONL infer types
// back, and every value must survive.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		format string
		// wantTypes are the types the reader gives back, in schema order.
		wantTypes []arrow.DataType
	}{
		{Parquet, nil}, // nil: exactly sampleSchema
		{CSV, []arrow.DataType{arrow.PrimitiveTypes.Int64, arrow.BinaryTypes.String, arrow.BinaryTypes.String,
			arrow.PrimitiveTypes.Float64, arrow.FixedWidthTypes.Boolean, arrow.FixedWidthTypes.Date32, tsType,
			arrow.PrimitiveTypes.Float64}}, // decimals are plain numbers in CSV
		{JSONL, []arrow.DataType{arrow.PrimitiveTypes.Int64, arrow.BinaryTypes.String, arrow.BinaryTypes.String,
			arrow.PrimitiveTypes.Float64, arrow.FixedWidthTypes.Boolean, arrow.FixedWidthTypes.Date32, tsType,
			arrow.BinaryTypes.String}}, // decimals are exact strings in JSON
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			t.Parallel()
			mem := checked(t)
			r1, r2 := sampleRecord(mem, 0, 40), sampleRecord(mem, 40, 25)
			defer r1.Release()
			defer r2.Release()
			path := filepath.Join(t.TempDir(), "out"+Ext(tt.format))
			encodeFile(t, path, tt.format, sampleSchema, r1, r2)

			rr, err := Open(context.Background(), path, tt.format, ReadOptions{Rows: 16, Alloc: mem})
			if err != nil {
				t.Fatal(err)
			}
			defer rr.Release()
			got := rr.Schema()
			if tt.wantTypes == nil {
				if !SameColumns(got, sampleSchema) {
					t.Fatalf("schema = %s, want %s", describeSchema(got), describeSchema(sampleSchema))
				}
			} else {
				if !slices.Equal(fieldNames(got), fieldNames(sampleSchema)) {
					t.Fatalf("columns = %v, want %v", fieldNames(got), fieldNames(sampleSchema))
				}
				for i, want := range tt.wantTypes {
					if !arrow.TypeEqual(got.Field(i).Type, want) {
						t.Errorf("column %s: type %s, want %s", got.Field(i).Name, got.Field(i).Type, want)
					}
				}
			}
			rows, err := drain(t, rr)
			if err != nil {
				t.Fatal(err)
			}
			want := append(recordRows(r1), recordRows(r2)...)
			if len(rows) != len(want) {
				t.Fatalf("read %d rows, want %d", len(rows), len(want))
			}
			for i := range want {
				if !slices.Equal(rows[i], want[i]) {
					t.Fatalf("row %d:\n got  %q\n want %q", i, rows[i], want[i])
				}
			}
		})
	}
}

// TestBatchSize checks readers cut records of at most Rows rows, so memory
// follows the batch size, not the file size.
func TestBatchSize(t *testing.T) {
	t.Parallel()
	for _, format := range []string{Parquet, CSV, JSONL} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			mem := checked(t)
			rec := sampleRecord(mem, 0, 1000)
			defer rec.Release()
			path := filepath.Join(t.TempDir(), "big"+Ext(format))
			encodeFile(t, path, format, sampleSchema, rec)
			rr, err := Open(context.Background(), path, format, ReadOptions{Rows: 64, Alloc: mem, InferRows: 100})
			if err != nil {
				t.Fatal(err)
			}
			defer rr.Release()
			total, batches := 0, 0
			for rr.Next() {
				n := int(rr.RecordBatch().NumRows())
				if n > 64 {
					t.Fatalf("record of %d rows, want at most 64", n)
				}
				total += n
				batches++
			}
			if err := rr.Err(); err != nil {
				t.Fatal(err)
			}
			if total != 1000 || batches < 1000/64 {
				t.Fatalf("read %d rows in %d records, want 1000 in at least %d", total, batches, 1000/64)
			}
		})
	}
}

func TestReadCancelled(t *testing.T) {
	t.Parallel()
	for _, format := range []string{Parquet, CSV, JSONL} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			mem := checked(t)
			rec := sampleRecord(mem, 0, 100)
			defer rec.Release()
			path := filepath.Join(t.TempDir(), "x"+Ext(format))
			encodeFile(t, path, format, sampleSchema, rec)
			ctx, cancel := context.WithCancel(context.Background())
			rr, err := Open(ctx, path, format, ReadOptions{Rows: 10, Alloc: mem})
			if err != nil {
				t.Fatal(err)
			}
			defer rr.Release()
			if !rr.Next() {
				t.Fatalf("first Next = false: %v", rr.Err())
			}
			cancel()
			if rr.Next() {
				t.Fatal("Next after cancel = true")
			}
			if rr.Err() != context.Canceled {
				t.Fatalf("Err = %v, want context.Canceled", rr.Err())
			}
		})
	}
}
