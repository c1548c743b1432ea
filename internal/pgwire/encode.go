package pgwire

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// AppendFunc appends the wire bytes of row i (known non-NULL) to dst.
type AppendFunc func(dst []byte, i int) ([]byte, error)

// Encoder binds to one column's array for one batch.
type Encoder func(arr arrow.Array) AppendFunc

// NewEncoder returns how Arrow type dt is written into a column of
// PostgreSQL type oid (elem is the element oid when oid is an array type),
// or an error naming both types when hoist has no lossless conversion.
func NewEncoder(dt arrow.DataType, oid uint32) (Encoder, error) {
	enc := newEncoder(dt, oid)
	if enc == nil {
		return nil, fmt.Errorf("cannot write arrow %s into postgres type oid %d", dt, oid)
	}
	return enc, nil
}

func newEncoder(dt arrow.DataType, oid uint32) Encoder {
	switch oid {
	case BoolOID:
		if dt.ID() == arrow.BOOL {
			return func(arr arrow.Array) AppendFunc {
				a := arr.(*array.Boolean)
				return func(dst []byte, i int) ([]byte, error) {
					if a.Value(i) {
						return append(dst, 1), nil
					}
					return append(dst, 0), nil
				}
			}
		}
	case Int2OID, Int4OID, Int8OID:
		get := intGetter(dt)
		if get == nil {
			return nil
		}
		size := map[uint32]int{Int2OID: 2, Int4OID: 4, Int8OID: 8}[oid]
		lo, hi := int64(math.MinInt16), int64(math.MaxInt16)
		if size == 4 {
			lo, hi = math.MinInt32, math.MaxInt32
		} else if size == 8 {
			lo, hi = math.MinInt64, math.MaxInt64
		}
		return func(arr arrow.Array) AppendFunc {
			g := get(arr)
			return func(dst []byte, i int) ([]byte, error) {
				v, ok := g(i)
				if !ok || v < lo || v > hi {
					return nil, fmt.Errorf("value out of range for a %d-byte integer", size)
				}
				switch size {
				case 2:
					return binary.BigEndian.AppendUint16(dst, uint16(v)), nil
				case 4:
					return binary.BigEndian.AppendUint32(dst, uint32(v)), nil
				}
				return binary.BigEndian.AppendUint64(dst, uint64(v)), nil
			}
		}
	case Float4OID, Float8OID:
		get := floatGetter(dt)
		if get == nil {
			return nil
		}
		return func(arr arrow.Array) AppendFunc {
			g := get(arr)
			if oid == Float4OID {
				return func(dst []byte, i int) ([]byte, error) {
					return binary.BigEndian.AppendUint32(dst, math.Float32bits(float32(g(i)))), nil
				}
			}
			return func(dst []byte, i int) ([]byte, error) {
				return binary.BigEndian.AppendUint64(dst, math.Float64bits(g(i))), nil
			}
		}
	case NumericOID:
		return numericEncoder(dt)
	case TextOID, VarcharOID, BPCharOID, NameOID, JSONOID:
		return textEncoder(dt, nil)
	case JSONBOID:
		return textEncoder(dt, []byte{1}) // jsonb binary = version byte 1 + text
	case UUIDOID:
		if isString(dt) {
			return func(arr arrow.Array) AppendFunc {
				s := stringGetter(arr)
				return func(dst []byte, i int) ([]byte, error) { return appendUUID(dst, s(i)) }
			}
		}
		if fb, ok := dt.(*arrow.FixedSizeBinaryType); ok && fb.ByteWidth == 16 {
			return func(arr arrow.Array) AppendFunc {
				a := arr.(*array.FixedSizeBinary)
				return func(dst []byte, i int) ([]byte, error) { return append(dst, a.Value(i)...), nil }
			}
		}
	case ByteaOID:
		switch dt.ID() {
		case arrow.BINARY, arrow.LARGE_BINARY, arrow.STRING, arrow.LARGE_STRING, arrow.FIXED_SIZE_BINARY, arrow.BINARY_VIEW, arrow.STRING_VIEW:
			return func(arr arrow.Array) AppendFunc {
				b := bytesGetter(arr)
				return func(dst []byte, i int) ([]byte, error) { return append(dst, b(i)...), nil }
			}
		}
	case DateOID:
		if dt.ID() == arrow.DATE32 {
			return func(arr arrow.Array) AppendFunc {
				a := arr.(*array.Date32)
				return func(dst []byte, i int) ([]byte, error) {
					d := int32(a.Value(i))
					if d != dayInf && d != dayNegInf {
						d -= pgEpochDays
					}
					return binary.BigEndian.AppendUint32(dst, uint32(d)), nil
				}
			}
		}
		if dt.ID() == arrow.DATE64 {
			return func(arr arrow.Array) AppendFunc {
				a := arr.(*array.Date64)
				return func(dst []byte, i int) ([]byte, error) {
					d := int32(int64(a.Value(i))/86400000) - pgEpochDays
					return binary.BigEndian.AppendUint32(dst, uint32(d)), nil
				}
			}
		}
	case TimestampOID, TstzOID:
		if tt, ok := dt.(*arrow.TimestampType); ok {
			mul, div := unitToMicros(tt.Unit)
			return func(arr arrow.Array) AppendFunc {
				a := arr.(*array.Timestamp)
				return func(dst []byte, i int) ([]byte, error) {
					v := int64(a.Value(i))
					if v != tsInf && v != tsNegInf {
						if mul > 1 && (v > math.MaxInt64/mul || v < math.MinInt64/mul) {
							return nil, fmt.Errorf("timestamp out of range")
						}
						v = floorDiv(v*mul, div) - pgEpochMicros
					}
					return binary.BigEndian.AppendUint64(dst, uint64(v)), nil
				}
			}
		}
	}
	if elem, ok := elemOf[oid]; ok {
		return listEncoder(dt, elem)
	}
	return nil
}

// listEncoder writes a one-dimensional array with lower bound 1; an empty
// list is written as PostgreSQL's empty array (ndim 0).
func listEncoder(dt arrow.DataType, elem uint32) Encoder {
	var et arrow.DataType
	switch l := dt.(type) {
	case *arrow.ListType:
		et = l.Elem()
	case *arrow.LargeListType:
		et = l.Elem()
	default:
		return nil
	}
	ee := newEncoder(et, elem)
	if ee == nil {
		return nil
	}
	return func(arr arrow.Array) AppendFunc {
		la := arr.(array.ListLike)
		vals := la.ListValues()
		ef := ee(vals)
		return func(dst []byte, i int) ([]byte, error) {
			start, end := la.ValueOffsets(i)
			n := int(end - start)
			hasNull := uint32(0)
			for j := start; j < end; j++ {
				if vals.IsNull(int(j)) {
					hasNull = 1
					break
				}
			}
			if n == 0 {
				dst = binary.BigEndian.AppendUint32(dst, 0)
				dst = binary.BigEndian.AppendUint32(dst, 0)
				return binary.BigEndian.AppendUint32(dst, elem), nil
			}
			dst = binary.BigEndian.AppendUint32(dst, 1)
			dst = binary.BigEndian.AppendUint32(dst, hasNull)
			dst = binary.BigEndian.AppendUint32(dst, elem)
			dst = binary.BigEndian.AppendUint32(dst, uint32(n))
			dst = binary.BigEndian.AppendUint32(dst, 1)
			for j := start; j < end; j++ {
				if vals.IsNull(int(j)) {
					dst = binary.BigEndian.AppendUint32(dst, math.MaxUint32) // -1
					continue
				}
				at := len(dst)
				dst = append(dst, 0, 0, 0, 0)
				var err error
				if dst, err = ef(dst, int(j)); err != nil {
					return nil, fmt.Errorf("array element %d: %w", j-start+1, err)
				}
				binary.BigEndian.PutUint32(dst[at:], uint32(len(dst)-at-4))
			}
			return dst, nil
		}
	}
}

func numericEncoder(dt arrow.DataType) Encoder {
	switch t := dt.(type) {
	case *arrow.Decimal128Type:
		return func(arr arrow.Array) AppendFunc {
			a := arr.(*array.Decimal128)
			return func(dst []byte, i int) ([]byte, error) {
				return AppendNumeric(dst, decimalString(a.Value(i), t.Scale))
			}
		}
	}
	if isString(dt) {
		return func(arr arrow.Array) AppendFunc {
			s := stringGetter(arr)
			return func(dst []byte, i int) ([]byte, error) { return AppendNumeric(dst, s(i)) }
		}
	}
	if dt.ID() == arrow.UINT64 {
		// not through intGetter: a uint64 past MaxInt64 would wrap to a
		// negative number, and numeric holds every uint64 as it is
		return func(arr arrow.Array) AppendFunc {
			a := arr.(*array.Uint64)
			return func(dst []byte, i int) ([]byte, error) {
				return AppendNumeric(dst, strconv.FormatUint(a.Value(i), 10))
			}
		}
	}
	if get := intGetter(dt); get != nil {
		return func(arr arrow.Array) AppendFunc {
			g := get(arr)
			return func(dst []byte, i int) ([]byte, error) {
				v, _ := g(i) // every other integer type fits an int64
				return AppendNumeric(dst, strconv.FormatInt(v, 10))
			}
		}
	}
	if get := floatGetter(dt); get != nil {
		return func(arr arrow.Array) AppendFunc {
			g := get(arr)
			return func(dst []byte, i int) ([]byte, error) {
				f := g(i)
				switch {
				case math.IsNaN(f):
					return AppendNumeric(dst, "NaN")
				case math.IsInf(f, 1):
					return AppendNumeric(dst, "Infinity")
				case math.IsInf(f, -1):
					return AppendNumeric(dst, "-Infinity")
				}
				return AppendNumeric(dst, strconv.FormatFloat(f, 'f', -1, 64))
			}
		}
	}
	return nil
}

// textEncoder writes strings as they are; other scalar types as their
// Arrow text form (so a number mapped into a text column still loads).
func textEncoder(dt arrow.DataType, prefix []byte) Encoder {
	if isString(dt) {
		return func(arr arrow.Array) AppendFunc {
			s := bytesGetter(arr)
			return func(dst []byte, i int) ([]byte, error) {
				return append(append(dst, prefix...), s(i)...), nil
			}
		}
	}
	switch dt.ID() {
	case arrow.LIST, arrow.LARGE_LIST, arrow.STRUCT, arrow.MAP, arrow.BINARY, arrow.LARGE_BINARY:
		return nil
	}
	return func(arr arrow.Array) AppendFunc {
		return func(dst []byte, i int) ([]byte, error) {
			return append(append(dst, prefix...), arr.ValueStr(i)...), nil
		}
	}
}

func appendUUID(dst []byte, s string) ([]byte, error) {
	var raw [32]byte
	n := 0
	for k := 0; k < len(s); k++ {
		c := s[k]
		if c == '-' {
			continue
		}
		if n == 32 {
			return nil, fmt.Errorf("invalid uuid %q", s)
		}
		raw[n] = c
		n++
	}
	if n != 32 {
		return nil, fmt.Errorf("invalid uuid %q", s)
	}
	var out [16]byte
	if _, err := hex.Decode(out[:], raw[:]); err != nil {
		return nil, fmt.Errorf("invalid uuid %q", s)
	}
	return append(dst, out[:]...), nil
}

func isString(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW:
		return true
	}
	return false
}

func stringGetter(arr arrow.Array) func(int) string {
	switch a := arr.(type) {
	case *array.String:
		return a.Value
	case *array.LargeString:
		return a.Value
	case *array.StringView:
		return a.Value
	}
	return arr.ValueStr
}

func bytesGetter(arr arrow.Array) func(int) []byte {
	switch a := arr.(type) {
	case *array.String:
		// ValueBytes-less access without a string copy.
		off := a.ValueOffsets()
		data := a.ValueBytes()
		base := off[0]
		return func(i int) []byte { return data[off[i]-base : off[i+1]-base] }
	case *array.LargeString:
		return func(i int) []byte { return []byte(a.Value(i)) }
	case *array.StringView:
		return func(i int) []byte { return []byte(a.Value(i)) }
	case *array.Binary:
		return a.Value
	case *array.LargeBinary:
		return a.Value
	case *array.BinaryView:
		return a.Value
	case *array.FixedSizeBinary:
		return a.Value
	}
	return func(i int) []byte { return []byte(arr.ValueStr(i)) }
}

func intGetter(dt arrow.DataType) func(arrow.Array) func(int) (int64, bool) {
	switch dt.ID() {
	case arrow.INT8:
		return func(arr arrow.Array) func(int) (int64, bool) {
			a := arr.(*array.Int8)
			return func(i int) (int64, bool) { return int64(a.Value(i)), true }
		}
	case arrow.INT16:
		return func(arr arrow.Array) func(int) (int64, bool) {
			a := arr.(*array.Int16)
			return func(i int) (int64, bool) { return int64(a.Value(i)), true }
		}
	case arrow.INT32:
		return func(arr arrow.Array) func(int) (int64, bool) {
			a := arr.(*array.Int32)
			return func(i int) (int64, bool) { return int64(a.Value(i)), true }
		}
	case arrow.INT64:
		return func(arr arrow.Array) func(int) (int64, bool) {
			a := arr.(*array.Int64)
			return func(i int) (int64, bool) { return a.Value(i), true }
		}
	case arrow.UINT8:
		return func(arr arrow.Array) func(int) (int64, bool) {
			a := arr.(*array.Uint8)
			return func(i int) (int64, bool) { return int64(a.Value(i)), true }
		}
	case arrow.UINT16:
		return func(arr arrow.Array) func(int) (int64, bool) {
			a := arr.(*array.Uint16)
			return func(i int) (int64, bool) { return int64(a.Value(i)), true }
		}
	case arrow.UINT32:
		return func(arr arrow.Array) func(int) (int64, bool) {
			a := arr.(*array.Uint32)
			return func(i int) (int64, bool) { return int64(a.Value(i)), true }
		}
	case arrow.UINT64:
		return func(arr arrow.Array) func(int) (int64, bool) {
			a := arr.(*array.Uint64)
			return func(i int) (int64, bool) { v := a.Value(i); return int64(v), v <= math.MaxInt64 }
		}
	}
	return nil
}

func floatGetter(dt arrow.DataType) func(arrow.Array) func(int) float64 {
	switch dt.ID() {
	case arrow.FLOAT32:
		return func(arr arrow.Array) func(int) float64 {
			a := arr.(*array.Float32)
			return func(i int) float64 { return float64(a.Value(i)) }
		}
	case arrow.FLOAT64:
		return func(arr arrow.Array) func(int) float64 {
			a := arr.(*array.Float64)
			return a.Value
		}
	}
	if ig := intGetter(dt); ig != nil {
		return func(arr arrow.Array) func(int) float64 {
			g := ig(arr)
			return func(i int) float64 { v, _ := g(i); return float64(v) }
		}
	}
	return nil
}

func unitToMicros(u arrow.TimeUnit) (mul, div int64) {
	switch u {
	case arrow.Second:
		return 1e6, 1
	case arrow.Millisecond:
		return 1e3, 1
	case arrow.Nanosecond:
		return 1, 1e3
	}
	return 1, 1
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}
