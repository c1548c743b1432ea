package mappings

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// castArray casts src to the type a mapping names. The casts business data
// needs and arrow's kernels get wrong or lack are done here:
//   - text → decimal: the kernels cannot parse it;
//   - integer → decimal(p,s): the kernels refuse any precision that could not
//     hold every int64 ("precision is not great enough"), even when every
//     value fits; here each value is checked and a misfit names its row;
//   - decimal → string: not implemented by the kernels; the exact digits;
//   - timestamp → string: the kernels write "2023-05-01 11:00:00.000000Z",
//     hoist's JSON and CSV output RFC 3339, so a cast does too.
func castArray(ctx context.Context, src arrow.Array, to arrow.DataType, mem memory.Allocator, label string) (arrow.Array, error) {
	if dt, ok := to.(*arrow.Decimal128Type); ok {
		switch {
		case isText(src):
			return textToDecimal(src, dt, mem, label)
		case arrow.IsInteger(src.DataType().ID()):
			return intToDecimal(src, dt, mem, label)
		}
	}
	if to.ID() == arrow.STRING {
		switch a := src.(type) {
		case *array.Decimal128:
			scale := a.DataType().(*arrow.Decimal128Type).Scale
			return toStrings(src, mem, func(i int) string { return a.Value(i).ToString(scale) }), nil
		case *array.Decimal256:
			scale := a.DataType().(*arrow.Decimal256Type).Scale
			return toStrings(src, mem, func(i int) string { return a.Value(i).ToString(scale) }), nil
		case *array.Timestamp:
			unit := a.DataType().(*arrow.TimestampType).Unit
			return toStrings(src, mem, func(i int) string { return FormatTimestamp(a.Value(i), unit) }), nil
		}
	}
	out, err := compute.CastArray(ctx, src, compute.SafeCastOptions(to))
	if err != nil {
		return nil, fmt.Errorf("%s: cast %s to %s: %w%s", label, src.DataType(), to, err, firstBadRow(ctx, src, to))
	}
	return out, nil
}

// FormatTimestamp is how hoist writes a timestamp as text: RFC 3339 in UTC
// with only the fractional digits the value has, as the JSON Lines and CSV
// writers and the HTTP destination do.
func FormatTimestamp(v arrow.Timestamp, unit arrow.TimeUnit) string {
	return v.ToTime(unit).UTC().Format(time.RFC3339Nano)
}

func toStrings(src arrow.Array, mem memory.Allocator, str func(int) string) arrow.Array {
	b := array.NewStringBuilder(mem)
	defer b.Release()
	b.Reserve(src.Len())
	for i := 0; i < src.Len(); i++ {
		if src.IsNull(i) {
			b.AppendNull()
			continue
		}
		b.Append(str(i))
	}
	return b.NewArray()
}

// intToDecimal scales each integer to dt; one with more integer digits than
// the precision leaves (precision − scale) fails naming its row.
func intToDecimal(src arrow.Array, dt *arrow.Decimal128Type, mem memory.Allocator, label string) (arrow.Array, error) {
	b := array.NewDecimal128Builder(mem, dt)
	defer b.Release()
	b.Reserve(src.Len())
	for i := 0; i < src.Len(); i++ {
		if src.IsNull(i) {
			b.AppendNull()
			continue
		}
		// ValueStr of an integer array is its decimal digits.
		text := src.ValueStr(i)
		digits := len(strings.TrimPrefix(text, "-"))
		if text != "0" && int32(digits)+dt.Scale > dt.Precision {
			return nil, fmt.Errorf("%s: cast %s to %s (row %d of the batch): %d integer digits do not fit %d (precision %d − scale %d)",
				label, text, dt, i, digits, dt.Precision-dt.Scale, dt.Precision, dt.Scale)
		}
		var n decimal128.Num
		if text[0] == '-' {
			v, err := strconv.ParseInt(text, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%s: row %d: %w", label, i, err)
			}
			n = decimal128.FromI64(v)
		} else {
			v, err := strconv.ParseUint(text, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%s: row %d: %w", label, i, err)
			}
			n = decimal128.FromU64(v)
		}
		b.Append(n.IncreaseScaleBy(dt.Scale))
	}
	return b.NewArray(), nil
}

// CastArray casts src to type to with the casts mappings use, so a value read
// back from a destination (hoist --refresh) takes the exact type, and hence the
// exact diff encoding, of the mapped value it was written from. label names
// the column in errors.
func CastArray(ctx context.Context, src arrow.Array, to arrow.DataType, mem memory.Allocator, label string) (arrow.Array, error) {
	return castArray(ctx, src, to, mem, label)
}
