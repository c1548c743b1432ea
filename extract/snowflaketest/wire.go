package snowflaketest

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// toWire turns a logical record into the Arrow form Snowflake sends. Like
// Snowflake, it picks the narrowest integer width that holds a fixed
// column's values in this chunk, so widths differ from chunk to chunk.
func toWire(mem memory.Allocator, cols []Column, rec arrow.RecordBatch) (arrow.RecordBatch, error) {
	fields := make([]arrow.Field, len(cols))
	arrs := make([]arrow.Array, len(cols))
	defer func() {
		for _, a := range arrs {
			if a != nil {
				a.Release()
			}
		}
	}()
	for i, c := range cols {
		a, err := wireColumn(mem, c, rec.Column(i))
		if err != nil {
			return nil, fmt.Errorf("column %s (%s): %w", c.Name, c.Type, err)
		}
		arrs[i] = a
		md := arrow.NewMetadata(
			[]string{"logicalType", "precision", "scale"},
			[]string{strings.ToUpper(c.Type), strconv.Itoa(c.Precision), strconv.Itoa(c.Scale)})
		fields[i] = arrow.Field{Name: c.Name, Type: a.DataType(), Nullable: c.Nullable || a.NullN() > 0, Metadata: md}
	}
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), arrs, rec.NumRows()), nil
}

func wireColumn(mem memory.Allocator, c Column, a arrow.Array) (arrow.Array, error) {
	switch c.Type {
	case Fixed:
		return wireFixed(mem, c, a)
	case Time:
		return wireTime(mem, c, a)
	case TimestampNTZ, TimestampLTZ, TimestampTZ:
		return wireTimestamp(mem, c, a)
	case Real, Text, Variant, Object, Array, Boolean, Date, Binary:
		// Sent as they are: float64, utf8, bool, date32, binary.
		a.Retain()
		return a, nil
	}
	return nil, fmt.Errorf("unknown snowflake type %q", c.Type)
}

// unscaled returns row i of a fixed column as an unscaled decimal.
func unscaled(c Column, a arrow.Array, i int) (decimal128.Num, error) {
	switch a := a.(type) {
	case *array.Int64:
		if c.Scale != 0 {
			return decimal128.Num{}, fmt.Errorf("int64 values need scale 0, column has scale %d", c.Scale)
		}
		return decimal128.FromI64(a.Value(i)), nil
	case *array.Decimal128:
		if s := a.DataType().(*arrow.Decimal128Type).Scale; int(s) != c.Scale {
			return decimal128.Num{}, fmt.Errorf("decimal scale %d, column has scale %d", s, c.Scale)
		}
		return a.Value(i), nil
	}
	return decimal128.Num{}, fmt.Errorf("logical type %s, want int64 or decimal128", a.DataType())
}

func fitsInt64(n decimal128.Num) bool {
	hi, lo := n.HighBits(), n.LowBits()
	return (hi == 0 && lo <= math.MaxInt64) || (hi == -1 && lo > math.MaxInt64)
}

func wireFixed(mem memory.Allocator, c Column, a arrow.Array) (arrow.Array, error) {
	n := a.Len()
	vals := make([]decimal128.Num, n)
	width := 8
	for i := 0; i < n; i++ {
		if a.IsNull(i) {
			continue
		}
		v, err := unscaled(c, a, i)
		if err != nil {
			return nil, err
		}
		vals[i] = v
		switch {
		case !fitsInt64(v):
			width = 128
		case width < 64 && (int64(v.LowBits()) < math.MinInt32 || int64(v.LowBits()) > math.MaxInt32):
			width = 64
		case width < 32 && (int64(v.LowBits()) < math.MinInt16 || int64(v.LowBits()) > math.MaxInt16):
			width = 32
		case width < 16 && (int64(v.LowBits()) < math.MinInt8 || int64(v.LowBits()) > math.MaxInt8):
			width = 16
		}
	}
	var b array.Builder
	switch width {
	case 8:
		b = array.NewInt8Builder(mem)
	case 16:
		b = array.NewInt16Builder(mem)
	case 32:
		b = array.NewInt32Builder(mem)
	case 64:
		b = array.NewInt64Builder(mem)
	default:
		b = array.NewDecimal128Builder(mem, &arrow.Decimal128Type{Precision: 38, Scale: int32(c.Scale)})
	}
	defer b.Release()
	b.Reserve(n)
	for i, v := range vals {
		if a.IsNull(i) {
			b.AppendNull()
			continue
		}
		x := int64(v.LowBits())
		switch b := b.(type) {
		case *array.Int8Builder:
			b.Append(int8(x))
		case *array.Int16Builder:
			b.Append(int16(x))
		case *array.Int32Builder:
			b.Append(int32(x))
		case *array.Int64Builder:
			b.Append(x)
		case *array.Decimal128Builder:
			b.Append(v)
		}
	}
	return b.NewArray(), nil
}

// nanosOf splits row i of a time or timestamp array into whole seconds and
// nanoseconds (0 ≤ ns < 1e9), without overflowing past year 2262.
func nanosOf(a arrow.Array, i int) (sec int64, ns int64, err error) {
	var v int64
	var unit arrow.TimeUnit
	switch a := a.(type) {
	case *array.Timestamp:
		v, unit = int64(a.Value(i)), a.DataType().(*arrow.TimestampType).Unit
	case *array.Time64:
		v, unit = int64(a.Value(i)), a.DataType().(*arrow.Time64Type).Unit
	case *array.Time32:
		v, unit = int64(a.Value(i)), a.DataType().(*arrow.Time32Type).Unit
	default:
		return 0, 0, fmt.Errorf("logical type %s, want a time or timestamp", a.DataType())
	}
	per := int64(time1e9 / unit.Multiplier())
	sec, rem := v/per, v%per
	if rem < 0 {
		sec, rem = sec-1, rem+per
	}
	return sec, rem * int64(unit.Multiplier()), nil
}

const time1e9 = 1_000_000_000

func pow10(n int) int64 { return int64(math.Pow10(n)) }

func wireTime(mem memory.Allocator, c Column, a arrow.Array) (arrow.Array, error) {
	// TIME(scale) travels as an int64 count of 10^-scale seconds since midnight.
	b := array.NewInt64Builder(mem)
	defer b.Release()
	for i := 0; i < a.Len(); i++ {
		if a.IsNull(i) {
			b.AppendNull()
			continue
		}
		sec, ns, err := nanosOf(a, i)
		if err != nil {
			return nil, err
		}
		b.Append(sec*pow10(c.Scale) + ns/pow10(9-c.Scale))
	}
	return b.NewArray(), nil
}

func wireTimestamp(mem memory.Allocator, c Column, a arrow.Array) (arrow.Array, error) {
	// NTZ/LTZ with scale 0–7: int64 of value × 10^scale; scale 8–9: struct
	// {epoch int64, fraction int32}. TZ adds an int32 "timezone" (offset in
	// minutes + 1440), with the scaled value in "epoch" when scale ≤ 7.
	tz := c.Type == TimestampTZ
	wide := c.Scale > 7
	if !tz && !wide {
		b := array.NewInt64Builder(mem)
		defer b.Release()
		for i := 0; i < a.Len(); i++ {
			if a.IsNull(i) {
				b.AppendNull()
				continue
			}
			sec, ns, err := nanosOf(a, i)
			if err != nil {
				return nil, err
			}
			b.Append(sec*pow10(c.Scale) + ns/pow10(9-c.Scale))
		}
		return b.NewArray(), nil
	}
	fields := []arrow.Field{{Name: "epoch", Type: arrow.PrimitiveTypes.Int64}}
	if wide {
		fields = append(fields, arrow.Field{Name: "fraction", Type: arrow.PrimitiveTypes.Int32})
	}
	if tz {
		fields = append(fields, arrow.Field{Name: "timezone", Type: arrow.PrimitiveTypes.Int32})
	}
	b := array.NewStructBuilder(mem, arrow.StructOf(fields...))
	defer b.Release()
	for i := 0; i < a.Len(); i++ {
		if a.IsNull(i) {
			b.AppendNull()
			continue
		}
		sec, ns, err := nanosOf(a, i)
		if err != nil {
			return nil, err
		}
		b.Append(true)
		if wide {
			b.FieldBuilder(0).(*array.Int64Builder).Append(sec)
			b.FieldBuilder(1).(*array.Int32Builder).Append(int32(ns))
		} else {
			b.FieldBuilder(0).(*array.Int64Builder).Append(sec*pow10(c.Scale) + ns/pow10(9-c.Scale))
		}
		if tz {
			b.FieldBuilder(len(fields) - 1).(*array.Int32Builder).Append(int32(c.TZOffsetMinutes + 1440))
		}
	}
	return b.NewArray(), nil
}
