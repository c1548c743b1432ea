package diff

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestAppendLoose decodes a snapshot row encoded under an older mapping:
// a field the schema lost is skipped, a field it gained is NULL, and a
// field whose type changed is NULL, each row staying aligned.
func TestAppendLoose(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	old := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "gone", Type: arrow.BinaryTypes.String},
		{Name: "score", Type: arrow.BinaryTypes.String},
	}, nil)
	ob := array.NewRecordBuilder(mem, old)
	defer ob.Release()
	for i := int64(1); i <= 2; i++ {
		ob.Field(0).(*array.Int64Builder).Append(i)
		ob.Field(1).(*array.StringBuilder).Append("x")
		ob.Field(2).(*array.StringBuilder).Append("high")
	}
	orec := ob.NewRecord()
	defer orec.Release()
	enc := NewRowEncoder(orec)

	now := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "added", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "score", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, nil)
	nb := array.NewRecordBuilder(mem, now)
	defer nb.Release()
	app := NewRowAppender(nb)
	for i := 0; i < 2; i++ {
		if err := app.AppendLoose(enc.Append(nil, i)); err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
	}
	rec := nb.NewRecord()
	defer rec.Release()
	if rec.NumRows() != 2 {
		t.Fatalf("%d rows", rec.NumRows())
	}
	ids := rec.Column(0).(*array.Int64)
	if ids.Value(0) != 1 || ids.Value(1) != 2 || rec.Column(1).NullN() != 2 || rec.Column(2).NullN() != 2 {
		t.Errorf("decoded %v", rec)
	}
	// the strict Append still names the field its schema lacks
	if err := app.Append(enc.Append(nil, 0)); err == nil {
		t.Error("Append took a row with a field the schema lacks")
	}
}
