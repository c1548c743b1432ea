package pgwire

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Decoder appends one wire value (nil for NULL) to the builder it was made for.
type Decoder func(b []byte) error

// ArrowType returns the Arrow type a column of PostgreSQL type oid (with
// type modifier typmod) is read as. json and jsonb are read as plain strings
// (their text), so every writer handles them without knowing an extension
// type; numeric(p≤38,s) becomes decimal128(p,s) and any other numeric an
// exact string.
func ArrowType(oid uint32, typmod int32) (arrow.DataType, bool) {
	switch oid {
	case BoolOID:
		return arrow.FixedWidthTypes.Boolean, true
	case Int2OID:
		return arrow.PrimitiveTypes.Int16, true
	case Int4OID:
		return arrow.PrimitiveTypes.Int32, true
	case Int8OID:
		return arrow.PrimitiveTypes.Int64, true
	case Float4OID:
		return arrow.PrimitiveTypes.Float32, true
	case Float8OID:
		return arrow.PrimitiveTypes.Float64, true
	case NumericOID:
		if p, s, ok := TypmodPrecision(typmod); ok && p >= 1 && p <= 38 && s >= 0 && s <= p {
			return &arrow.Decimal128Type{Precision: p, Scale: s}, true
		}
		return arrow.BinaryTypes.String, true
	case TextOID, VarcharOID, BPCharOID, NameOID, UUIDOID, JSONOID, JSONBOID:
		return arrow.BinaryTypes.String, true
	case ByteaOID:
		return arrow.BinaryTypes.Binary, true
	case DateOID:
		return arrow.FixedWidthTypes.Date32, true
	case TimestampOID:
		return &arrow.TimestampType{Unit: arrow.Microsecond}, true
	case TstzOID:
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, true
	}
	if elem, ok := elemOf[oid]; ok {
		et, _ := ArrowType(elem, typmod) // array typmod is the element's
		return arrow.ListOf(et), true
	}
	return nil, false
}

// NewDecoder returns the decoder for type oid appending to b, which must be
// a builder of ArrowType(oid, typmod).
func NewDecoder(oid uint32, typmod int32, b array.Builder) (Decoder, error) {
	switch oid {
	case BoolOID:
		bb := b.(*array.BooleanBuilder)
		return func(v []byte) error {
			if v == nil {
				bb.AppendNull()
				return nil
			}
			if len(v) != 1 {
				return errLen("bool", len(v))
			}
			bb.Append(v[0] != 0)
			return nil
		}, nil
	case Int2OID:
		ib := b.(*array.Int16Builder)
		return func(v []byte) error {
			if v == nil {
				ib.AppendNull()
				return nil
			}
			if len(v) != 2 {
				return errLen("int2", len(v))
			}
			ib.Append(int16(binary.BigEndian.Uint16(v)))
			return nil
		}, nil
	case Int4OID:
		ib := b.(*array.Int32Builder)
		return func(v []byte) error {
			if v == nil {
				ib.AppendNull()
				return nil
			}
			if len(v) != 4 {
				return errLen("int4", len(v))
			}
			ib.Append(int32(binary.BigEndian.Uint32(v)))
			return nil
		}, nil
	case Int8OID:
		ib := b.(*array.Int64Builder)
		return func(v []byte) error {
			if v == nil {
				ib.AppendNull()
				return nil
			}
			if len(v) != 8 {
				return errLen("int8", len(v))
			}
			ib.Append(int64(binary.BigEndian.Uint64(v)))
			return nil
		}, nil
	case Float4OID:
		fb := b.(*array.Float32Builder)
		return func(v []byte) error {
			if v == nil {
				fb.AppendNull()
				return nil
			}
			if len(v) != 4 {
				return errLen("float4", len(v))
			}
			fb.Append(math.Float32frombits(binary.BigEndian.Uint32(v)))
			return nil
		}, nil
	case Float8OID:
		fb := b.(*array.Float64Builder)
		return func(v []byte) error {
			if v == nil {
				fb.AppendNull()
				return nil
			}
			if len(v) != 8 {
				return errLen("float8", len(v))
			}
			fb.Append(math.Float64frombits(binary.BigEndian.Uint64(v)))
			return nil
		}, nil
	case NumericOID:
		if db, ok := b.(*array.Decimal128Builder); ok {
			scale := db.Type().(*arrow.Decimal128Type).Scale
			return func(v []byte) error {
				if v == nil {
					db.AppendNull()
					return nil
				}
				n, err := NumericDecimal128(v, scale)
				if err != nil {
					return err
				}
				db.Append(n)
				return nil
			}, nil
		}
		sb := b.(*array.StringBuilder)
		return func(v []byte) error {
			if v == nil {
				sb.AppendNull()
				return nil
			}
			s, err := NumericString(v)
			if err != nil {
				return err
			}
			sb.Append(s)
			return nil
		}, nil
	case TextOID, VarcharOID, BPCharOID, NameOID, JSONOID:
		sb := b.(*array.StringBuilder)
		return func(v []byte) error {
			if v == nil {
				sb.AppendNull()
				return nil
			}
			sb.BinaryBuilder.Append(v) // copies; v is the driver's buffer
			return nil
		}, nil
	case JSONBOID:
		sb := b.(*array.StringBuilder)
		return func(v []byte) error {
			if v == nil {
				sb.AppendNull()
				return nil
			}
			if len(v) == 0 || v[0] != 1 {
				return errors.New("jsonb: unknown binary version")
			}
			sb.BinaryBuilder.Append(v[1:])
			return nil
		}, nil
	case UUIDOID:
		sb := b.(*array.StringBuilder)
		var buf [36]byte
		return func(v []byte) error {
			if v == nil {
				sb.AppendNull()
				return nil
			}
			if len(v) != 16 {
				return errLen("uuid", len(v))
			}
			hex.Encode(buf[0:8], v[0:4])
			buf[8] = '-'
			hex.Encode(buf[9:13], v[4:6])
			buf[13] = '-'
			hex.Encode(buf[14:18], v[6:8])
			buf[18] = '-'
			hex.Encode(buf[19:23], v[8:10])
			buf[23] = '-'
			hex.Encode(buf[24:], v[10:16])
			sb.BinaryBuilder.Append(buf[:])
			return nil
		}, nil
	case ByteaOID:
		bb := b.(*array.BinaryBuilder)
		return func(v []byte) error {
			if v == nil {
				bb.AppendNull()
				return nil
			}
			bb.Append(v)
			return nil
		}, nil
	case DateOID:
		db := b.(*array.Date32Builder)
		return func(v []byte) error {
			if v == nil {
				db.AppendNull()
				return nil
			}
			if len(v) != 4 {
				return errLen("date", len(v))
			}
			d := int32(binary.BigEndian.Uint32(v))
			if d != dayInf && d != dayNegInf {
				d += pgEpochDays
			}
			db.Append(arrow.Date32(d))
			return nil
		}, nil
	case TimestampOID, TstzOID:
		tb := b.(*array.TimestampBuilder)
		return func(v []byte) error {
			if v == nil {
				tb.AppendNull()
				return nil
			}
			if len(v) != 8 {
				return errLen("timestamp", len(v))
			}
			us := int64(binary.BigEndian.Uint64(v))
			if us != tsInf && us != tsNegInf {
				us += pgEpochMicros
			}
			tb.Append(arrow.Timestamp(us))
			return nil
		}, nil
	}
	if elem, ok := elemOf[oid]; ok {
		return newArrayDecoder(elem, typmod, b.(*array.ListBuilder))
	}
	return nil, fmt.Errorf("unsupported type oid %d", oid)
}

// newArrayDecoder reads the binary array format: ndim, has-null flag,
// element oid, per dimension (length, lower bound), then length-prefixed
// elements. Only one dimension (or an empty array, ndim 0) maps onto a list.
func newArrayDecoder(elem uint32, typmod int32, lb *array.ListBuilder) (Decoder, error) {
	ed, err := NewDecoder(elem, typmod, lb.ValueBuilder())
	if err != nil {
		return nil, err
	}
	return func(v []byte) error {
		if v == nil {
			lb.AppendNull()
			return nil
		}
		if len(v) < 12 {
			return errLen("array", len(v))
		}
		ndim := binary.BigEndian.Uint32(v)
		if ndim == 0 {
			lb.Append(true)
			return nil
		}
		if ndim != 1 {
			return fmt.Errorf("array with %d dimensions (only one-dimensional arrays are supported)", ndim)
		}
		if len(v) < 20 {
			return errLen("array", len(v))
		}
		n := int(int32(binary.BigEndian.Uint32(v[12:])))
		p := v[20:]
		lb.Append(true)
		for i := 0; i < n; i++ {
			if len(p) < 4 {
				return errors.New("array: truncated element")
			}
			l := int32(binary.BigEndian.Uint32(p))
			p = p[4:]
			if l < 0 {
				if err := ed(nil); err != nil {
					return err
				}
				continue
			}
			if int(l) > len(p) {
				return errors.New("array: truncated element")
			}
			// An empty non-NULL element must stay non-NULL: pass a non-nil slice.
			if err := ed(p[:l:l]); err != nil {
				return fmt.Errorf("array element %d: %w", i+1, err)
			}
			p = p[l:]
		}
		return nil
	}, nil
}

func errLen(typ string, n int) error { return fmt.Errorf("%s: unexpected value length %d", typ, n) }
