package filefmt

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/decimal256"
)

// textReadable reports whether appendText can parse values of dt, so readers
// given a schema fail at open rather than on the first row.
func textReadable(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.BOOL, arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64,
		arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64, arrow.FLOAT32, arrow.FLOAT64,
		arrow.STRING, arrow.LARGE_STRING, arrow.BINARY, arrow.LARGE_BINARY,
		arrow.DATE32, arrow.DATE64, arrow.TIMESTAMP, arrow.DECIMAL128, arrow.DECIMAL256:
		return true
	}
	return false
}

// appendText parses s as a value of the builder's type and appends it. An
// empty string appends NULL: CSV cannot tell an empty text from a missing one,
// and hoist's writers write NULL as an empty cell.
func appendText(b array.Builder, s string) error {
	if s == "" {
		b.AppendNull()
		return nil
	}
	var err error
	switch b := b.(type) {
	case *array.StringBuilder:
		b.Append(s)
	case *array.LargeStringBuilder:
		b.Append(s)
	case *array.Int64Builder:
		var v int64
		if v, err = strconv.ParseInt(s, 10, 64); err == nil {
			b.Append(v)
		}
	case *array.Int32Builder:
		var v int64
		if v, err = strconv.ParseInt(s, 10, 32); err == nil {
			b.Append(int32(v))
		}
	case *array.Int16Builder:
		var v int64
		if v, err = strconv.ParseInt(s, 10, 16); err == nil {
			b.Append(int16(v))
		}
	case *array.Int8Builder:
		var v int64
		if v, err = strconv.ParseInt(s, 10, 8); err == nil {
			b.Append(int8(v))
		}
	case *array.Uint64Builder:
		var v uint64
		if v, err = strconv.ParseUint(s, 10, 64); err == nil {
			b.Append(v)
		}
	case *array.Uint32Builder:
		var v uint64
		if v, err = strconv.ParseUint(s, 10, 32); err == nil {
			b.Append(uint32(v))
		}
	case *array.Uint16Builder:
		var v uint64
		if v, err = strconv.ParseUint(s, 10, 16); err == nil {
			b.Append(uint16(v))
		}
	case *array.Uint8Builder:
		var v uint64
		if v, err = strconv.ParseUint(s, 10, 8); err == nil {
			b.Append(uint8(v))
		}
	case *array.Float64Builder:
		var v float64
		if v, err = strconv.ParseFloat(s, 64); err == nil {
			b.Append(v)
		}
	case *array.Float32Builder:
		var v float64
		if v, err = strconv.ParseFloat(s, 32); err == nil {
			b.Append(float32(v))
		}
	case *array.BooleanBuilder:
		switch {
		case strings.EqualFold(s, "true"), s == "1", s == "t", s == "T":
			b.Append(true)
		case strings.EqualFold(s, "false"), s == "0", s == "f", s == "F":
			b.Append(false)
		default:
			err = strconv.ErrSyntax
		}
	case *array.Date32Builder:
		var t time.Time
		if t, err = time.Parse(time.DateOnly, s); err == nil {
			b.Append(arrow.Date32FromTime(t))
		}
	case *array.Date64Builder:
		var t time.Time
		if t, err = time.Parse(time.DateOnly, s); err == nil {
			b.Append(arrow.Date64FromTime(t))
		}
	case *array.TimestampBuilder:
		var t time.Time
		if t, err = parseTimestampLoose(s); err == nil {
			var v arrow.Timestamp
			v, err = arrow.TimestampFromTime(t, b.Type().(*arrow.TimestampType).Unit)
			if err == nil {
				b.Append(v)
			}
		}
	case *array.Decimal128Builder:
		dt := b.Type().(*arrow.Decimal128Type)
		var v decimal128.Num
		if v, err = decimal128.FromString(s, dt.Precision, dt.Scale); err == nil {
			b.Append(v)
		}
	case *array.Decimal256Builder:
		dt := b.Type().(*arrow.Decimal256Type)
		var v decimal256.Num
		if v, err = decimal256.FromString(s, dt.Precision, dt.Scale); err == nil {
			b.Append(v)
		}
	case *array.BinaryBuilder:
		var v []byte
		if v, err = base64.StdEncoding.DecodeString(s); err == nil {
			b.Append(v)
		}
	default:
		return fmt.Errorf("cannot read %s values from text", b.Type())
	}
	if err != nil {
		return fmt.Errorf("cannot parse %q as %s", clip(s), b.Type())
	}
	return nil
}

// clip shortens a value quoted in an error message.
func clip(s string) string {
	const max = 60
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}
