package diff

import (
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestChangedFields encodes pairs of rows and checks the fields named
// changed: values that differ, NULL against a value, a type change, and
// fields only one row has.
func TestChangedFields(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	encode := func(fields []arrow.Field, fill func(b *array.RecordBuilder)) []byte {
		b := array.NewRecordBuilder(mem, arrow.NewSchema(fields, nil))
		defer b.Release()
		fill(b)
		rec := b.NewRecordBatch()
		defer rec.Release()
		return NewRowEncoder(rec).Append(nil, 0)
	}
	str := func(n string) arrow.Field {
		return arrow.Field{Name: n, Type: arrow.BinaryTypes.String, Nullable: true}
	}
	i64 := func(n string) arrow.Field {
		return arrow.Field{Name: n, Type: arrow.PrimitiveTypes.Int64, Nullable: true}
	}
	base := encode([]arrow.Field{i64("id"), str("name"), str("email"), i64("score")}, func(b *array.RecordBuilder) {
		b.Field(0).(*array.Int64Builder).Append(1)
		b.Field(1).(*array.StringBuilder).Append("Ann")
		b.Field(2).(*array.StringBuilder).Append("a@x.io")
		b.Field(3).(*array.Int64Builder).Append(7)
	})
	tests := []struct {
		name string
		new  []byte
		want []string
	}{
		{"same", base, nil},
		{"one value", encode([]arrow.Field{i64("id"), str("name"), str("email"), i64("score")}, func(b *array.RecordBuilder) {
			b.Field(0).(*array.Int64Builder).Append(1)
			b.Field(1).(*array.StringBuilder).Append("Anne")
			b.Field(2).(*array.StringBuilder).Append("a@x.io")
			b.Field(3).(*array.Int64Builder).Append(7)
		}), []string{"name"}},
		{"to NULL, and a type change", encode([]arrow.Field{i64("id"), str("name"), str("email"), str("score")}, func(b *array.RecordBuilder) {
			b.Field(0).(*array.Int64Builder).Append(1)
			b.Field(1).(*array.StringBuilder).Append("Ann")
			b.Field(2).(*array.StringBuilder).AppendNull()
			b.Field(3).(*array.StringBuilder).Append("7")
		}), []string{"email", "score"}},
		{"a field dropped and one added", encode([]arrow.Field{i64("id"), str("name"), str("email"), str("zip")}, func(b *array.RecordBuilder) {
			b.Field(0).(*array.Int64Builder).Append(1)
			b.Field(1).(*array.StringBuilder).Append("Ann")
			b.Field(2).(*array.StringBuilder).Append("a@x.io")
			b.Field(3).(*array.StringBuilder).Append("10115")
		}), []string{"score", "zip"}},
	}
	for _, tc := range tests {
		var got []string
		if err := ChangedFields(base, tc.new, func(n []byte) { got = append(got, string(n)) }); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: changed %v, want %v", tc.name, got, tc.want)
		}
	}
	if err := ChangedFields(base, base[:len(base)-2], func([]byte) {}); err == nil {
		t.Error("a row cut short compared without error")
	}
}
