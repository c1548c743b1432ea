// Package cursor holds the cursor type: the last committed value of a sync's
// cursor column, kept by state stores and pushed down by sources.
package cursor

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// Cursor kinds.
const (
	Int       = "int"
	Float     = "float"
	String    = "string"
	Timestamp = "timestamp" // Value is RFC 3339 with nanoseconds, in UTC
	Date      = "date"      // Value is YYYY-MM-DD
	Decimal   = "decimal"   // Value is an exact decimal string
)

// Cursor is the last committed value of a cursor column. It is kept as text
// with its kind, so state stays readable and sources can bind it as a typed
// query parameter (see Param).
type Cursor struct {
	Kind  string `json:"kind"`
	Value string `json:"value"`
}

func (c *Cursor) String() string {
	if c == nil {
		return ""
	}
	return c.Value
}

// Param returns the cursor as a Go value for a driver's bound parameter:
// int64, float64, string, time.Time (timestamp and date, in UTC) or, for
// decimals, the exact string.
func (c *Cursor) Param() (any, error) {
	switch c.Kind {
	case Int:
		return strconv.ParseInt(c.Value, 10, 64)
	case Float:
		return strconv.ParseFloat(c.Value, 64)
	case Timestamp:
		return time.Parse(time.RFC3339Nano, c.Value)
	case Date:
		return time.Parse(time.DateOnly, c.Value)
	case String, Decimal:
		return c.Value, nil
	}
	return nil, fmt.Errorf("unknown cursor kind %q", c.Kind)
}

// Compare orders two cursors of the same kind: -1, 0 or +1.
func (c *Cursor) Compare(o *Cursor) (int, error) {
	if c.Kind != o.Kind {
		return 0, fmt.Errorf("cursor kind changed from %s to %s (reset state with `hoist state reset`)", o.Kind, c.Kind)
	}
	switch c.Kind {
	case Int:
		a, err1 := strconv.ParseInt(c.Value, 10, 64)
		b, err2 := strconv.ParseInt(o.Value, 10, 64)
		if err1 != nil || err2 != nil {
			return 0, fmt.Errorf("bad int cursor %q / %q", c.Value, o.Value)
		}
		return cmp3(a < b, a > b), nil
	case Float:
		a, err1 := strconv.ParseFloat(c.Value, 64)
		b, err2 := strconv.ParseFloat(o.Value, 64)
		if err1 != nil || err2 != nil {
			return 0, fmt.Errorf("bad float cursor %q / %q", c.Value, o.Value)
		}
		return cmp3(a < b, a > b), nil
	case Decimal:
		a, ok1 := new(big.Rat).SetString(c.Value)
		b, ok2 := new(big.Rat).SetString(o.Value)
		if !ok1 || !ok2 {
			return 0, fmt.Errorf("bad decimal cursor %q / %q", c.Value, o.Value)
		}
		return a.Cmp(b), nil
	case Timestamp:
		a, err1 := time.Parse(time.RFC3339Nano, c.Value)
		b, err2 := time.Parse(time.RFC3339Nano, o.Value)
		if err1 != nil || err2 != nil {
			return 0, fmt.Errorf("bad timestamp cursor %q / %q", c.Value, o.Value)
		}
		return a.Compare(b), nil
	default: // string, date (YYYY-MM-DD orders as text)
		return strings.Compare(c.Value, o.Value), nil
	}
}

func cmp3(less, greater bool) int {
	switch {
	case less:
		return -1
	case greater:
		return 1
	}
	return 0
}

// KindOf returns the cursor kind for an Arrow type, or an error for a
// type that cannot be a cursor.
func KindOf(t arrow.DataType) (string, error) {
	switch t.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return Int, nil
	case arrow.FLOAT32, arrow.FLOAT64:
		return Float, nil
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW:
		return String, nil
	case arrow.TIMESTAMP:
		return Timestamp, nil
	case arrow.DATE32, arrow.DATE64:
		return Date, nil
	case arrow.DECIMAL128:
		return Decimal, nil
	}
	return "", fmt.Errorf("type %s cannot be a cursor (use an integer, number, text, date or timestamp column)", t)
}

// At returns the cursor value of row i of arr; ok is false for NULL.
func At(arr arrow.Array, i int) (c Cursor, ok bool, err error) {
	if arr.IsNull(i) {
		return Cursor{}, false, nil
	}
	kind, err := KindOf(arr.DataType())
	if err != nil {
		return Cursor{}, false, err
	}
	c.Kind = kind
	switch a := arr.(type) {
	case *array.Int8:
		c.Value = strconv.FormatInt(int64(a.Value(i)), 10)
	case *array.Int16:
		c.Value = strconv.FormatInt(int64(a.Value(i)), 10)
	case *array.Int32:
		c.Value = strconv.FormatInt(int64(a.Value(i)), 10)
	case *array.Int64:
		c.Value = strconv.FormatInt(a.Value(i), 10)
	case *array.Uint8:
		c.Value = strconv.FormatUint(uint64(a.Value(i)), 10)
	case *array.Uint16:
		c.Value = strconv.FormatUint(uint64(a.Value(i)), 10)
	case *array.Uint32:
		c.Value = strconv.FormatUint(uint64(a.Value(i)), 10)
	case *array.Uint64:
		c.Value = strconv.FormatUint(a.Value(i), 10)
	case *array.Float32:
		c.Value = strconv.FormatFloat(float64(a.Value(i)), 'g', -1, 32)
	case *array.Float64:
		c.Value = strconv.FormatFloat(a.Value(i), 'g', -1, 64)
	case *array.String:
		c.Value = a.Value(i)
	case *array.LargeString:
		c.Value = a.Value(i)
	case *array.StringView:
		c.Value = a.Value(i)
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		c.Value = a.Value(i).ToTime(unit).UTC().Format(time.RFC3339Nano)
	case *array.Date32:
		c.Value = a.Value(i).ToTime().Format(time.DateOnly)
	case *array.Date64:
		c.Value = a.Value(i).ToTime().Format(time.DateOnly)
	case *array.Decimal128:
		scale := a.DataType().(*arrow.Decimal128Type).Scale
		c.Value = decimalString(a.Value(i), scale)
	default:
		return Cursor{}, false, fmt.Errorf("type %s cannot be a cursor", arr.DataType())
	}
	return c, true, nil
}

func decimalString(v decimal128.Num, scale int32) string {
	r := new(big.Rat).SetFrac(v.BigInt(), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil))
	return r.FloatString(int(scale))
}
