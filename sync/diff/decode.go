package diff

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

var errCorrupt = errors.New("corrupt row encoding")

// reader walks one encoded row.
type reader struct{ b []byte }

func (r *reader) uvarint() (uint64, error) {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		return 0, errCorrupt
	}
	r.b = r.b[n:]
	return v, nil
}

func (r *reader) varint() (int64, error) {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		return 0, errCorrupt
	}
	r.b = r.b[n:]
	return v, nil
}

func (r *reader) bytes() ([]byte, error) {
	n, err := r.uvarint()
	if err != nil || uint64(len(r.b)) < n {
		return nil, errCorrupt
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out, nil
}

func (r *reader) byte1() (byte, error) {
	if len(r.b) == 0 {
		return 0, errCorrupt
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c, nil
}

func (r *reader) u64() (uint64, error) {
	if len(r.b) < 8 {
		return 0, errCorrupt
	}
	v := binary.BigEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v, nil
}

// Field is one decoded field of a row.
type Field struct {
	Name  string
	Value any // JSON-ready: nil, int64, uint64, float64 or string (NaN, ±Inf), string, bool, json.Number, []any, map[string]any
}

// DecodeRow decodes an encoded row into JSON-ready values (plan output).
func DecodeRow(row []byte) ([]Field, error) {
	r := &reader{b: row}
	n, err := r.uvarint()
	if err != nil {
		return nil, err
	}
	out := make([]Field, 0, n)
	for k := uint64(0); k < n; k++ {
		name, err := r.bytes()
		if err != nil {
			return nil, err
		}
		v, err := r.value()
		if err != nil {
			return nil, err
		}
		out = append(out, Field{Name: string(name), Value: v})
	}
	return out, nil
}

func (r *reader) value() (any, error) {
	tag, err := r.byte1()
	if err != nil {
		return nil, err
	}
	switch tag {
	case tagNull:
		return nil, nil
	case tagInt:
		return r.varint()
	case tagUint:
		return r.uvarint()
	case tagFloat:
		bits, err := r.u64()
		f := math.Float64frombits(bits)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return strconv.FormatFloat(f, 'g', -1, 64), err
		}
		if f == math.Trunc(f) && math.Abs(f) < 1e15 {
			// 21.0, not 21: a plan must show an int → float change
			return json.Number(strconv.FormatFloat(f, 'f', 1, 64)), err
		}
		return f, err
	case tagString, tagOther:
		b, err := r.bytes()
		return string(b), err
	case tagBytes:
		b, err := r.bytes()
		return base64.StdEncoding.EncodeToString(b), err
	case tagTrue:
		return true, nil
	case tagFalse:
		return false, nil
	case tagDate:
		d, err := r.varint()
		return arrow.Date32(d).ToTime().Format(time.DateOnly), err
	case tagTimestamp:
		unit, v, tz, err := r.timestamp()
		if err != nil {
			return nil, err
		}
		t := arrow.Timestamp(v).ToTime(unit)
		if tz == "" {
			return t.Format("2006-01-02T15:04:05.999999999"), nil
		}
		return t.Format(time.RFC3339Nano), nil
	case tagTime:
		unit, err := r.byte1()
		if err != nil {
			return nil, err
		}
		v, err := r.varint()
		d := time.Duration(v) * arrow.TimeUnit(unit).Multiplier()
		return time.Time{}.Add(d).Format("15:04:05.999999999"), err
	case tagDecimal:
		_, scale, num, err := r.decimal()
		if err != nil {
			return nil, err
		}
		return json.Number(decimalText(num, scale)), nil
	case tagList:
		n, err := r.uvarint()
		if err != nil {
			return nil, err
		}
		out := make([]any, 0, n)
		for k := uint64(0); k < n; k++ {
			v, err := r.value()
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case tagStruct:
		n, err := r.uvarint()
		if err != nil {
			return nil, err
		}
		out := make(map[string]any, n)
		for k := uint64(0); k < n; k++ {
			name, err := r.bytes()
			if err != nil {
				return nil, err
			}
			v, err := r.value()
			if err != nil {
				return nil, err
			}
			out[string(name)] = v
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: tag %d", errCorrupt, tag)
}

func (r *reader) timestamp() (arrow.TimeUnit, int64, string, error) {
	unit, err := r.byte1()
	if err != nil {
		return 0, 0, "", err
	}
	v, err := r.varint()
	if err != nil {
		return 0, 0, "", err
	}
	tz, err := r.bytes()
	return arrow.TimeUnit(unit), v, string(tz), err
}

func (r *reader) decimal() (int32, int32, decimal128.Num, error) {
	p, err := r.byte1()
	if err != nil {
		return 0, 0, decimal128.Num{}, err
	}
	s, err := r.byte1()
	if err != nil {
		return 0, 0, decimal128.Num{}, err
	}
	hi, err := r.u64()
	if err != nil {
		return 0, 0, decimal128.Num{}, err
	}
	lo, err := r.u64()
	return int32(p), int32(int8(s)), decimal128.New(int64(hi), lo), err
}

func decimalText(v decimal128.Num, scale int32) string {
	r := new(big.Rat).SetFrac(v.BigInt(), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil))
	return r.FloatString(int(scale))
}

// AppendRow decodes an encoded row into the builders of a record builder
// whose schema is the one the row was encoded from, looking each field up
// by name. A caller appending many rows to one builder keeps a RowAppender.
func AppendRow(b *array.RecordBuilder, row []byte) error {
	return (&RowAppender{b: b}).Append(row)
}

// RowAppender decodes rows into one record builder. Rows encoded from its
// schema name their fields in the encoder's order (by name), so that order
// is worked out once and each name is only compared with the one expected
// at its place, instead of being looked up in the schema per value (a
// lookup that cost 8% of a first upsert's CPU).
type RowAppender struct {
	b     *array.RecordBuilder
	names [][]byte // field names in encoded order
	index []int    // their field indexes
}

// NewRowAppender prepares to append rows to b.
func NewRowAppender(b *array.RecordBuilder) *RowAppender {
	s := b.Schema()
	a := &RowAppender{b: b, index: make([]int, s.NumFields())}
	for i := range a.index {
		a.index[i] = i
	}
	sort.SliceStable(a.index, func(x, y int) bool { return s.Field(a.index[x]).Name < s.Field(a.index[y]).Name })
	for _, i := range a.index {
		a.names = append(a.names, []byte(s.Field(i).Name))
	}
	return a
}

// Append decodes one encoded row into the builder.
func (a *RowAppender) Append(row []byte) error {
	r := &reader{b: row}
	n, err := r.uvarint()
	if err != nil {
		return err
	}
	b, s := a.b, a.b.Schema()
	for k := uint64(0); k < n; k++ {
		name, err := r.bytes()
		if err != nil {
			return err
		}
		var idx []int
		if k < uint64(len(a.names)) && bytes.Equal(name, a.names[k]) {
			idx = a.index[k : k+1]
		} else {
			// a row whose fields come in another order: look the name up
			idx = s.FieldIndices(string(name))
		}
		if len(idx) == 0 {
			return fmt.Errorf("row field %q is not in the schema", name)
		}
		if err := r.appendTo(b.Field(idx[0])); err != nil {
			return fmt.Errorf("field %s: %w", name, err)
		}
	}
	return nil
}

// AppendLoose decodes a row that may have been encoded under another
// mapping (a snapshot row from before the mapping changed): fields the
// schema lacks are skipped, and fields the row lacks are NULL.
func (a *RowAppender) AppendLoose(row []byte) error {
	r := &reader{b: row}
	n, err := r.uvarint()
	if err != nil {
		return err
	}
	b, s := a.b, a.b.Schema()
	seen := make([]bool, s.NumFields())
	for k := uint64(0); k < n; k++ {
		name, err := r.bytes()
		if err != nil {
			return err
		}
		idx := s.FieldIndices(string(name))
		if len(idx) == 0 || seen[idx[0]] {
			if _, err := r.value(); err != nil {
				return fmt.Errorf("field %s: %w", name, err)
			}
			continue
		}
		seen[idx[0]] = true
		fb := b.Field(idx[0])
		if len(r.b) > 0 && r.b[0] != tagNull && !tagFits(r.b[0], fb.Type()) {
			// a value of another type than the field has now: NULL
			if _, err := r.value(); err != nil {
				return fmt.Errorf("field %s: %w", name, err)
			}
			fb.AppendNull()
			continue
		}
		if err := r.appendTo(fb); err != nil {
			return fmt.Errorf("field %s: %w", name, err)
		}
	}
	for i, ok := range seen {
		if !ok {
			b.Field(i).AppendNull()
		}
	}
	return nil
}

// tagFits says whether a value encoded with tag decodes into a field of
// type dt (what appendValue writes for it).
func tagFits(tag byte, dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64:
		return tag == tagInt
	case arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return tag == tagUint
	case arrow.FLOAT32, arrow.FLOAT64:
		return tag == tagFloat
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW:
		return tag == tagString
	case arrow.BINARY, arrow.LARGE_BINARY, arrow.FIXED_SIZE_BINARY:
		return tag == tagBytes
	case arrow.BOOL:
		return tag == tagTrue || tag == tagFalse
	case arrow.DATE32, arrow.DATE64:
		return tag == tagDate
	case arrow.TIMESTAMP:
		return tag == tagTimestamp
	case arrow.TIME32, arrow.TIME64:
		return tag == tagTime
	case arrow.DECIMAL128:
		return tag == tagDecimal
	case arrow.LIST, arrow.LARGE_LIST, arrow.FIXED_SIZE_LIST, arrow.MAP, arrow.LIST_VIEW, arrow.LARGE_LIST_VIEW:
		return tag == tagList
	case arrow.STRUCT:
		return tag == tagStruct
	}
	return tag == tagOther
}

func (r *reader) appendTo(b array.Builder) error {
	if len(r.b) > 0 && r.b[0] == tagNull {
		r.b = r.b[1:]
		b.AppendNull()
		return nil
	}
	tag, err := r.byte1()
	if err != nil {
		return err
	}
	switch bb := b.(type) {
	case *array.Int8Builder:
		v, err := r.varint()
		bb.Append(int8(v))
		return err
	case *array.Int16Builder:
		v, err := r.varint()
		bb.Append(int16(v))
		return err
	case *array.Int32Builder:
		v, err := r.varint()
		bb.Append(int32(v))
		return err
	case *array.Int64Builder:
		v, err := r.varint()
		bb.Append(v)
		return err
	case *array.Uint8Builder:
		v, err := r.uvarint()
		bb.Append(uint8(v))
		return err
	case *array.Uint16Builder:
		v, err := r.uvarint()
		bb.Append(uint16(v))
		return err
	case *array.Uint32Builder:
		v, err := r.uvarint()
		bb.Append(uint32(v))
		return err
	case *array.Uint64Builder:
		v, err := r.uvarint()
		bb.Append(v)
		return err
	case *array.Float32Builder:
		bits, err := r.u64()
		bb.Append(float32(math.Float64frombits(bits)))
		return err
	case *array.Float64Builder:
		bits, err := r.u64()
		bb.Append(math.Float64frombits(bits))
		return err
	case *array.StringBuilder:
		v, err := r.bytes()
		bb.BinaryBuilder.Append(v)
		return err
	case *array.LargeStringBuilder:
		v, err := r.bytes()
		bb.BinaryBuilder.Append(v)
		return err
	case *array.StringViewBuilder:
		v, err := r.bytes()
		bb.Append(string(v))
		return err
	case *array.BinaryBuilder:
		v, err := r.bytes()
		bb.Append(v)
		return err
	case *array.FixedSizeBinaryBuilder:
		v, err := r.bytes()
		bb.Append(v)
		return err
	case *array.BooleanBuilder:
		bb.Append(tag == tagTrue)
	case *array.Date32Builder:
		v, err := r.varint()
		bb.Append(arrow.Date32(v))
		return err
	case *array.Date64Builder:
		v, err := r.varint()
		bb.Append(arrow.Date64(v * 86400000))
		return err
	case *array.TimestampBuilder:
		_, v, _, err := r.timestamp()
		bb.Append(arrow.Timestamp(v))
		return err
	case *array.Time32Builder:
		if _, err := r.byte1(); err != nil {
			return err
		}
		v, err := r.varint()
		bb.Append(arrow.Time32(v))
		return err
	case *array.Time64Builder:
		if _, err := r.byte1(); err != nil {
			return err
		}
		v, err := r.varint()
		bb.Append(arrow.Time64(v))
		return err
	case *array.Decimal128Builder:
		_, _, v, err := r.decimal()
		bb.Append(v)
		return err
	case array.ListLikeBuilder:
		n, err := r.uvarint()
		if err != nil {
			return err
		}
		bb.Append(true)
		for k := uint64(0); k < n; k++ {
			if err := r.appendTo(bb.ValueBuilder()); err != nil {
				return err
			}
		}
	case *array.StructBuilder:
		n, err := r.uvarint()
		if err != nil {
			return err
		}
		bb.Append(true)
		for k := 0; k < int(n); k++ {
			if _, err := r.bytes(); err != nil {
				return err
			}
			if err := r.appendTo(bb.FieldBuilder(k)); err != nil {
				return err
			}
		}
	default:
		v, err := r.bytes()
		if err != nil {
			return err
		}
		return b.AppendValueFromString(string(v))
	}
	return nil
}
