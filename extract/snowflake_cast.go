package extract

import (
	"context"
	"database/sql/driver"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// sfColumn is one result column: its Snowflake type from the response's
// rowtype and the Arrow type hoist hands on.
type sfColumn struct {
	name             string // as Snowflake returned it
	sfType           string // FIXED, REAL, TEXT, ... (upper case)
	precision, scale int64
	typ              arrow.DataType
}

var utcMicros = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}

// snowflakeSchema decides the one schema of a read from the rowtype alone,
// before any batch arrives, because the driver's batches are not stable:
// NUMBER(38,0) comes as int8 in one chunk and int64 in the next.
//
//	FIXED scale 0   → int64 (a value outside int64 fails the read; cast it in SQL)
//	FIXED scale s   → decimal128(p, s), exact (never float64)
//	REAL            → float64
//	TEXT, VARIANT, OBJECT, ARRAY → string (semi-structured as JSON text)
//	BOOLEAN, DATE, BINARY → bool, date32, binary
//	TIME            → time64[us]
//	TIMESTAMP_NTZ   → timestamp[us] without zone (wall clock)
//	TIMESTAMP_LTZ/TZ → timestamp[us, UTC]: the instant; TZ's per-row offset is not kept
//
// Microseconds keep dates past 2262 representable.
func snowflakeSchema(rows driver.Rows) (*arrow.Schema, []sfColumn, error) {
	names := rows.Columns()
	typeNames, ok1 := rows.(driver.RowsColumnTypeDatabaseTypeName)
	precScale, ok2 := rows.(driver.RowsColumnTypePrecisionScale)
	if !ok1 || !ok2 {
		return nil, nil, errSnowflakeRows
	}
	cols := make([]sfColumn, len(names))
	fields := make([]arrow.Field, len(names))
	taken := map[string]bool{}
	for _, n := range names {
		taken[n] = true
	}
	for i, n := range names {
		c := sfColumn{name: n, sfType: typeNames.ColumnTypeDatabaseTypeName(i)}
		c.precision, c.scale, _ = precScale.ColumnTypePrecisionScale(i)
		switch c.sfType {
		case "FIXED":
			if c.scale == 0 {
				c.typ = arrow.PrimitiveTypes.Int64
			} else {
				p := c.precision
				if p <= 0 || p > 38 {
					p = 38
				}
				c.typ = &arrow.Decimal128Type{Precision: int32(p), Scale: int32(c.scale)}
			}
		case "REAL":
			c.typ = arrow.PrimitiveTypes.Float64
		case "TEXT", "VARIANT", "OBJECT", "ARRAY":
			c.typ = arrow.BinaryTypes.String
		case "BOOLEAN":
			c.typ = arrow.FixedWidthTypes.Boolean
		case "DATE":
			c.typ = arrow.FixedWidthTypes.Date32
		case "BINARY":
			c.typ = arrow.BinaryTypes.Binary
		case "TIME":
			// The driver reports TIME's fractional digits as its precision.
			c.scale = c.precision
			c.typ = arrow.FixedWidthTypes.Time64us
		case "TIMESTAMP_NTZ":
			c.typ = &arrow.TimestampType{Unit: arrow.Microsecond}
		case "TIMESTAMP_LTZ", "TIMESTAMP_TZ":
			c.typ = utcMicros
		default:
			return nil, nil, fmt.Errorf("column %s has snowflake type %s, which hoist cannot read; cast it in the query (e.g. %s::varchar)", n, c.sfType, n)
		}
		cols[i] = c
		out := snowflakeColumnName(n)
		if out != n && taken[out] {
			out = n // lower-casing would collide with a quoted column of that name
		}
		taken[out] = true
		fields[i] = arrow.Field{Name: out, Type: c.typ, Nullable: true}
	}
	return arrow.NewSchema(fields, nil), cols, nil
}

// castSnowflake converts one driver record to the read's schema. Columns
// already in their final type are shared, not copied.
func castSnowflake(ctx context.Context, mem memory.Allocator, schema *arrow.Schema, cols []sfColumn, rec arrow.RecordBatch) (arrow.RecordBatch, error) {
	if int(rec.NumCols()) != len(cols) {
		return nil, fmt.Errorf("batch has %d columns, rowtype has %d", rec.NumCols(), len(cols))
	}
	out := make([]arrow.Array, len(cols))
	defer func() {
		for _, a := range out {
			if a != nil {
				a.Release()
			}
		}
	}()
	for i, c := range cols {
		a, err := castColumn(ctx, mem, c, rec.Column(i))
		if err != nil {
			return nil, fmt.Errorf("column %s (%s): %w", c.name, c.sfType, err)
		}
		out[i] = a
	}
	return array.NewRecordBatch(schema, out, rec.NumRows()), nil
}

func castColumn(ctx context.Context, mem memory.Allocator, c sfColumn, a arrow.Array) (arrow.Array, error) {
	if arrow.TypeEqual(a.DataType(), c.typ) && c.sfType != "TIME" {
		a.Retain()
		return a, nil
	}
	switch c.sfType {
	case "FIXED":
		if c.scale == 0 {
			return toInt64(mem, a, c.name)
		}
		return toDecimal(mem, a, c.typ.(*arrow.Decimal128Type))
	case "TIME":
		return fixTime(mem, a, c.scale)
	case "TIMESTAMP_NTZ", "TIMESTAMP_LTZ", "TIMESTAMP_TZ":
		// The driver already produced microseconds; only the zone label
		// differs (LTZ carries the session zone). Same buffers, new type.
		if ts, ok := a.DataType().(*arrow.TimestampType); ok && ts.Unit == arrow.Microsecond {
			return retype(a, c.typ), nil
		}
		return nil, fmt.Errorf("driver returned %s, want timestamp[us]", a.DataType())
	}
	// Anything else (e.g. large_string) goes through Arrow's safe cast,
	// which fails rather than lose data.
	return compute.CastArray(compute.WithAllocator(ctx, mem), a, compute.SafeCastOptions(c.typ))
}

// retype shares a's buffers under a different but layout-identical type.
func retype(a arrow.Array, t arrow.DataType) arrow.Array {
	d := a.Data()
	nd := array.NewData(t, d.Len(), d.Buffers(), d.Children(), d.NullN(), d.Offset())
	defer nd.Release()
	return array.MakeFromData(nd)
}

// intAt reads row i of an integer array of any width.
func intAt(a arrow.Array, i int) (int64, bool) {
	switch a := a.(type) {
	case *array.Int8:
		return int64(a.Value(i)), true
	case *array.Int16:
		return int64(a.Value(i)), true
	case *array.Int32:
		return int64(a.Value(i)), true
	case *array.Int64:
		return a.Value(i), true
	}
	return 0, false
}

func toInt64(mem memory.Allocator, a arrow.Array, name string) (arrow.Array, error) {
	b := array.NewInt64Builder(mem)
	defer b.Release()
	b.Reserve(a.Len())
	dec, isDec := a.(*array.Decimal128)
	for i := 0; i < a.Len(); i++ {
		if a.IsNull(i) {
			b.UnsafeAppendBoolToBitmap(false)
			continue
		}
		if isDec {
			v := dec.Value(i)
			if !decimalFitsInt64(v) {
				return nil, fmt.Errorf("value %s does not fit in int64; cast it in the query (e.g. %s::varchar)", v.BigInt(), name)
			}
			b.UnsafeAppend(int64(v.LowBits()))
			continue
		}
		v, ok := intAt(a, i)
		if !ok {
			return nil, fmt.Errorf("driver returned %s for an integer column", a.DataType())
		}
		b.UnsafeAppend(v)
	}
	return b.NewArray(), nil
}

func decimalFitsInt64(n decimal128.Num) bool {
	hi, lo := n.HighBits(), n.LowBits()
	return (hi == 0 && lo <= math.MaxInt64) || (hi == -1 && lo > math.MaxInt64)
}

// toDecimal turns the unscaled integers of a NUMBER(p,s) column (the driver
// passes them through with WithHigherPrecision) into decimal128(p,s).
func toDecimal(mem memory.Allocator, a arrow.Array, t *arrow.Decimal128Type) (arrow.Array, error) {
	if d, ok := a.DataType().(*arrow.Decimal128Type); ok {
		if d.Scale != t.Scale {
			return nil, fmt.Errorf("driver returned %s, want scale %d", d, t.Scale)
		}
		return retype(a, t), nil // wire precision is 38; same values
	}
	b := array.NewDecimal128Builder(mem, t)
	defer b.Release()
	b.Reserve(a.Len())
	for i := 0; i < a.Len(); i++ {
		if a.IsNull(i) {
			b.UnsafeAppendBoolToBitmap(false)
			continue
		}
		v, ok := intAt(a, i)
		if !ok {
			return nil, fmt.Errorf("driver returned %s for a decimal column (is WithHigherPrecision set?)", a.DataType())
		}
		b.UnsafeAppend(decimal128.FromI64(v))
	}
	return b.NewArray(), nil
}

// fixTime converts the driver's TIME column to time64[us]. The driver casts
// the wire integer (time × 10^scale) to time64[ns] without rescaling, so
// the "nanoseconds" it returns are really units of 10^-scale seconds.
func fixTime(mem memory.Allocator, a arrow.Array, scale int64) (arrow.Array, error) {
	t, ok := a.(*array.Time64)
	if !ok {
		return nil, fmt.Errorf("driver returned %s for TIME", a.DataType())
	}
	b := array.NewTime64Builder(mem, &arrow.Time64Type{Unit: arrow.Microsecond})
	defer b.Release()
	b.Reserve(t.Len())
	for i := 0; i < t.Len(); i++ {
		if t.IsNull(i) {
			b.UnsafeAppendBoolToBitmap(false)
			continue
		}
		v := int64(t.Value(i))
		if scale >= 6 {
			v /= int64(math.Pow10(int(scale - 6)))
		} else {
			v *= int64(math.Pow10(int(6 - scale)))
		}
		b.UnsafeAppend(arrow.Time64(v))
	}
	return b.NewArray(), nil
}
