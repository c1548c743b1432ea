package shard

import (
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// AppendKeyText appends row i's key text (see the package comment) to buf.
// Integers are written in decimal and strings as they are, which is what
// the SQL databases' text casts give; those are the only key types a source
// pushes the filter down for (Pushable). Other types hash their Arrow text
// form: the same in every run, so the split is stable, but only Go computes
// it.
func AppendKeyText(buf []byte, cols []arrow.Array, i int) []byte {
	for k, c := range cols {
		if k > 0 {
			buf = append(buf, Sep...)
		}
		if c.IsNull(i) {
			continue
		}
		switch a := c.(type) {
		case *array.Int8:
			buf = strconv.AppendInt(buf, int64(a.Value(i)), 10)
		case *array.Int16:
			buf = strconv.AppendInt(buf, int64(a.Value(i)), 10)
		case *array.Int32:
			buf = strconv.AppendInt(buf, int64(a.Value(i)), 10)
		case *array.Int64:
			buf = strconv.AppendInt(buf, a.Value(i), 10)
		case *array.Uint8:
			buf = strconv.AppendUint(buf, uint64(a.Value(i)), 10)
		case *array.Uint16:
			buf = strconv.AppendUint(buf, uint64(a.Value(i)), 10)
		case *array.Uint32:
			buf = strconv.AppendUint(buf, uint64(a.Value(i)), 10)
		case *array.Uint64:
			buf = strconv.AppendUint(buf, a.Value(i), 10)
		case *array.String:
			buf = append(buf, a.Value(i)...)
		case *array.LargeString:
			buf = append(buf, a.Value(i)...)
		case *array.Binary:
			buf = append(buf, a.Value(i)...)
		default:
			buf = append(buf, c.ValueStr(i)...)
		}
	}
	return buf
}

// Pushable reports whether a key column of type t has the same text in SQL
// as AppendKeyText writes, so that a source may filter on it in its query.
func Pushable(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64,
		arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64,
		arrow.STRING, arrow.LARGE_STRING:
		return true
	}
	return false
}
