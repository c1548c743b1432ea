// Package diff classifies extracted rows against the last delivered snapshot
// (add, change, remove, unchanged) with memory bounded however large the
// tables are: rows are encoded canonically, sorted by key with spills to
// disk, and merged against the key-ordered snapshot.
package diff

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Value tags of the row encoding. A row is: uvarint field count, then per
// field (sorted by name) uvarint name length, name, tagged value. Equal rows
// encode to equal bytes, so "unchanged" is a byte comparison; a type change
// (int 5 → text "5") changes the bytes, as it should.
const (
	tagNull byte = iota
	tagInt
	tagUint
	tagFloat
	tagString
	tagBytes
	tagTrue
	tagFalse
	tagDate
	tagTimestamp
	tagTime
	tagDecimal
	tagList
	tagStruct
	tagOther
)

// RowEncoder encodes the rows of one record.
type RowEncoder struct {
	names []string
	cols  []arrow.Array
}

// NewRowEncoder prepares to encode rows of rec, fields ordered by name.
func NewRowEncoder(rec arrow.Record) *RowEncoder {
	s := rec.Schema()
	idx := make([]int, s.NumFields())
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return s.Field(idx[a]).Name < s.Field(idx[b]).Name })
	e := &RowEncoder{names: make([]string, len(idx)), cols: make([]arrow.Array, len(idx))}
	for i, j := range idx {
		e.names[i] = s.Field(j).Name
		e.cols[i] = rec.Column(j)
	}
	return e
}

// Append appends the encoding of row i to buf.
func (e *RowEncoder) Append(buf []byte, i int) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(e.names)))
	for c, name := range e.names {
		buf = binary.AppendUvarint(buf, uint64(len(name)))
		buf = append(buf, name...)
		buf = appendValue(buf, e.cols[c], i)
	}
	return buf
}

func appendString(buf []byte, tag byte, s string) []byte {
	buf = append(buf, tag)
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

func appendValue(buf []byte, arr arrow.Array, i int) []byte {
	if arr.IsNull(i) {
		return append(buf, tagNull)
	}
	switch a := arr.(type) {
	case *array.Int8:
		return binary.AppendVarint(append(buf, tagInt), int64(a.Value(i)))
	case *array.Int16:
		return binary.AppendVarint(append(buf, tagInt), int64(a.Value(i)))
	case *array.Int32:
		return binary.AppendVarint(append(buf, tagInt), int64(a.Value(i)))
	case *array.Int64:
		return binary.AppendVarint(append(buf, tagInt), a.Value(i))
	case *array.Uint8:
		return binary.AppendUvarint(append(buf, tagUint), uint64(a.Value(i)))
	case *array.Uint16:
		return binary.AppendUvarint(append(buf, tagUint), uint64(a.Value(i)))
	case *array.Uint32:
		return binary.AppendUvarint(append(buf, tagUint), uint64(a.Value(i)))
	case *array.Uint64:
		return binary.AppendUvarint(append(buf, tagUint), a.Value(i))
	case *array.Float32:
		return appendFloat(buf, float64(a.Value(i)))
	case *array.Float64:
		return appendFloat(buf, a.Value(i))
	case *array.String:
		return appendString(buf, tagString, a.Value(i))
	case *array.LargeString:
		return appendString(buf, tagString, a.Value(i))
	case *array.StringView:
		return appendString(buf, tagString, a.Value(i))
	case *array.Binary:
		return appendString(buf, tagBytes, string(a.Value(i)))
	case *array.LargeBinary:
		return appendString(buf, tagBytes, string(a.Value(i)))
	case *array.FixedSizeBinary:
		return appendString(buf, tagBytes, string(a.Value(i)))
	case *array.Boolean:
		if a.Value(i) {
			return append(buf, tagTrue)
		}
		return append(buf, tagFalse)
	case *array.Date32:
		return binary.AppendVarint(append(buf, tagDate), int64(a.Value(i)))
	case *array.Date64:
		return binary.AppendVarint(append(buf, tagDate), int64(a.Value(i))/86400000)
	case *array.Timestamp:
		tt := a.DataType().(*arrow.TimestampType)
		buf = append(buf, tagTimestamp, byte(tt.Unit))
		buf = binary.AppendVarint(buf, int64(a.Value(i)))
		buf = binary.AppendUvarint(buf, uint64(len(tt.TimeZone)))
		return append(buf, tt.TimeZone...)
	case *array.Time32:
		return binary.AppendVarint(append(buf, tagTime, byte(a.DataType().(*arrow.Time32Type).Unit)), int64(a.Value(i)))
	case *array.Time64:
		return binary.AppendVarint(append(buf, tagTime, byte(a.DataType().(*arrow.Time64Type).Unit)), int64(a.Value(i)))
	case *array.Decimal128:
		dt := a.DataType().(*arrow.Decimal128Type)
		v := a.Value(i)
		buf = append(buf, tagDecimal, byte(dt.Precision), byte(dt.Scale))
		buf = binary.BigEndian.AppendUint64(buf, uint64(v.HighBits()))
		return binary.BigEndian.AppendUint64(buf, v.LowBits())
	case array.ListLike:
		start, end := a.ValueOffsets(i)
		buf = binary.AppendUvarint(append(buf, tagList), uint64(end-start))
		for j := start; j < end; j++ {
			buf = appendValue(buf, a.ListValues(), int(j))
		}
		return buf
	case *array.Struct:
		st := a.DataType().(*arrow.StructType)
		buf = binary.AppendUvarint(append(buf, tagStruct), uint64(a.NumField()))
		for f := 0; f < a.NumField(); f++ {
			name := st.Field(f).Name
			buf = binary.AppendUvarint(buf, uint64(len(name)))
			buf = append(buf, name...)
			buf = appendValue(buf, a.Field(f), i)
		}
		return buf
	}
	return appendString(buf, tagOther, arr.ValueStr(i))
}

func appendFloat(buf []byte, f float64) []byte {
	if math.IsNaN(f) {
		f = math.NaN() // one canonical NaN
	}
	return binary.BigEndian.AppendUint64(append(buf, tagFloat), math.Float64bits(f))
}

// KeyText returns the canonical text of a key value: two key columns that
// print the same identify the same destination row, whatever their type.
func KeyText(arr arrow.Array, i int) (string, bool) {
	if arr.IsNull(i) {
		return "", false
	}
	switch a := arr.(type) {
	case *array.String:
		return a.Value(i), true
	case *array.LargeString:
		return a.Value(i), true
	case *array.StringView:
		return a.Value(i), true
	case *array.Int64:
		return strconv.FormatInt(a.Value(i), 10), true
	case *array.Int32:
		return strconv.FormatInt(int64(a.Value(i)), 10), true
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return a.Value(i).ToTime(unit).UTC().Format(time.RFC3339Nano), true
	case *array.Date32:
		return a.Value(i).ToTime().Format(time.DateOnly), true
	case *array.Float64:
		return strconv.FormatFloat(a.Value(i), 'g', -1, 64), true
	}
	return arr.ValueStr(i), true
}

// AppendKey appends the encoded key of row i: per key column, uvarint length
// and text. Byte order of encoded keys is the snapshot's order.
func AppendKey(buf []byte, cols []arrow.Array, i int) ([]byte, error) {
	for _, c := range cols {
		s, ok := KeyText(c, i)
		if !ok {
			return buf, errNullKey
		}
		buf = binary.AppendUvarint(buf, uint64(len(s)))
		buf = append(buf, s...)
	}
	return buf, nil
}

var errNullKey = fmt.Errorf("primary key is NULL")

// DecodeKey splits an encoded key into its texts.
func DecodeKey(key []byte) ([]string, error) {
	var out []string
	for len(key) > 0 {
		n, w := binary.Uvarint(key)
		if w <= 0 || uint64(len(key)-w) < n {
			return nil, fmt.Errorf("corrupt key encoding")
		}
		out = append(out, string(key[w:w+int(n)]))
		key = key[w+int(n):]
	}
	return out, nil
}

// AppendValue appends the tagged encoding of one value (row i of arr).
func AppendValue(buf []byte, arr arrow.Array, i int) []byte { return appendValue(buf, arr, i) }

// AppendValueTo decodes one tagged value into b.
func AppendValueTo(b array.Builder, enc []byte) error {
	r := &reader{b: enc}
	return r.appendTo(b)
}
