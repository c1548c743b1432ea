package loadtest

import (
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// row is one row of a check's schema: a Go value per field, nil for NULL.
type row []any

// baseSchema is what the mode, reject and concurrency checks write: a key,
// a text the reject checks can spoil, and a number that changes.
var baseSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "n", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
}, nil)

// keySchema is the schema of a delete batch: only the key fields, as the
// engine sends them.
func keySchema(s *arrow.Schema, key []string) *arrow.Schema {
	fields := make([]arrow.Field, 0, len(key))
	for _, k := range key {
		idx := s.FieldIndices(k)
		if len(idx) != 1 {
			panic(fmt.Sprintf("loadtest: key %q is not one field of %s", k, s))
		}
		fields = append(fields, s.Field(idx[0]))
	}
	return arrow.NewSchema(fields, nil)
}

// record builds a record of schema from rows; a row of a delete batch
// holds only its key values.
func record(t *testing.T, mem memory.Allocator, schema *arrow.Schema, rows []row) arrow.RecordBatch {
	t.Helper()
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for i, r := range rows {
		if len(r) < schema.NumFields() {
			t.Fatalf("loadtest: row %d has %d values for %d fields", i, len(r), schema.NumFields())
		}
		for c := range schema.NumFields() {
			if err := appendValue(b.Field(c), r[c]); err != nil {
				t.Fatalf("loadtest: row %d field %s: %v", i, schema.Field(c).Name, err)
			}
		}
	}
	return b.NewRecordBatch()
}

// keysOf is rows cut down to their first column, the key of baseSchema.
func keysOf(rows ...row) []row {
	out := make([]row, len(rows))
	for i, r := range rows {
		out[i] = row{r[0]}
	}
	return out
}

// appendValue appends v, of the Go type the builder holds (an int stands
// for any integer type), or NULL for nil.
func appendValue(b array.Builder, v any) error {
	if v == nil {
		b.AppendNull()
		return nil
	}
	bad := func() error { return fmt.Errorf("value %v (%T) does not fit %s", v, v, b.Type()) }
	switch b := b.(type) {
	case *array.Int8Builder:
		x, ok := v.(int8)
		if !ok {
			return bad()
		}
		b.Append(x)
	case *array.Int16Builder:
		x, ok := v.(int16)
		if !ok {
			return bad()
		}
		b.Append(x)
	case *array.Int32Builder:
		x, ok := v.(int32)
		if !ok {
			return bad()
		}
		b.Append(x)
	case *array.Int64Builder:
		switch x := v.(type) {
		case int64:
			b.Append(x)
		case int:
			b.Append(int64(x))
		default:
			return bad()
		}
	case *array.Uint8Builder:
		x, ok := v.(uint8)
		if !ok {
			return bad()
		}
		b.Append(x)
	case *array.Uint16Builder:
		x, ok := v.(uint16)
		if !ok {
			return bad()
		}
		b.Append(x)
	case *array.Uint32Builder:
		x, ok := v.(uint32)
		if !ok {
			return bad()
		}
		b.Append(x)
	case *array.Uint64Builder:
		x, ok := v.(uint64)
		if !ok {
			return bad()
		}
		b.Append(x)
	case *array.Float32Builder:
		x, ok := v.(float32)
		if !ok {
			return bad()
		}
		b.Append(x)
	case *array.Float64Builder:
		x, ok := v.(float64)
		if !ok {
			return bad()
		}
		b.Append(x)
	case *array.BooleanBuilder:
		x, ok := v.(bool)
		if !ok {
			return bad()
		}
		b.Append(x)
	case *array.StringBuilder:
		x, ok := v.(string)
		if !ok {
			return bad()
		}
		b.Append(x)
	case *array.LargeStringBuilder:
		x, ok := v.(string)
		if !ok {
			return bad()
		}
		b.Append(x)
	case *array.BinaryBuilder: // binary and large binary
		x, ok := v.([]byte)
		if !ok {
			return bad()
		}
		b.Append(x)
	case *array.Date32Builder:
		x, ok := v.(arrow.Date32)
		if !ok {
			return bad()
		}
		b.Append(x)
	case *array.TimestampBuilder:
		x, ok := v.(arrow.Timestamp)
		if !ok {
			return bad()
		}
		b.Append(x)
	case *array.Decimal128Builder:
		x, ok := v.(decimal128.Num)
		if !ok {
			return bad()
		}
		b.Append(x)
	default:
		return fmt.Errorf("loadtest cannot build %s values", b.Type())
	}
	return nil
}
