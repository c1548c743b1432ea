package filefmt

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// jsonlEncoder writes one object per row. Dotted column names nest
// ("properties.full_name" → {"properties":{"full_name":…}}), in schema order.
// Timestamps are RFC 3339 strings in UTC, dates YYYY-MM-DD, decimals exact
// strings (a JSON number would go through a float in most readers), binary
// base64, NaN and ±Inf the strings "NaN", "Infinity", "-Infinity" (JSON has
// no such numbers), nested Arrow types
// arrow's own JSON form.
type jsonlEncoder struct {
	w      io.Writer
	schema *arrow.Schema
	root   *jnode
	buf    []byte
}

// jnode is an object member: a column (col >= 0) or a nested object.
type jnode struct {
	key  []byte // the member's quoted key and colon
	col  int
	kids []*jnode
}

func newJSONLEncoder(w io.Writer, schema *arrow.Schema) (*jsonlEncoder, error) {
	root := &jnode{col: -1}
	for i, f := range schema.Fields() {
		if err := root.insert(strings.Split(f.Name, "."), i, f.Name); err != nil {
			return nil, err
		}
	}
	return &jsonlEncoder{w: w, schema: schema, root: root}, nil
}

func (n *jnode) insert(path []string, col int, full string) error {
	for _, k := range n.kids {
		if string(k.key) != string(quoteKey(path[0])) {
			continue
		}
		if len(path) == 1 || k.col >= 0 {
			return fmt.Errorf("field %q collides with another field when nested into json objects", full)
		}
		return k.insert(path[1:], col, full)
	}
	k := &jnode{key: quoteKey(path[0]), col: -1}
	n.kids = append(n.kids, k)
	if len(path) == 1 {
		k.col = col
		return nil
	}
	return k.insert(path[1:], col, full)
}

func quoteKey(k string) []byte {
	return append(AppendJSONString(nil, k), ':')
}

func (e *jsonlEncoder) Write(rec arrow.RecordBatch) error {
	rec, err := Conform(rec, e.schema)
	if err != nil {
		return err
	}
	defer rec.Release()
	e.buf = e.buf[:0]
	cols := rec.Columns()
	for i := range int(rec.NumRows()) {
		e.buf = e.root.appendObject(e.buf, cols, i)
		e.buf = append(e.buf, '\n')
	}
	if _, err := e.w.Write(e.buf); err != nil {
		return fmt.Errorf("write jsonl: %w", err)
	}
	return nil
}

func (e *jsonlEncoder) Close() error { return nil }

func (n *jnode) appendObject(b []byte, cols []arrow.Array, row int) []byte {
	b = append(b, '{')
	for i, k := range n.kids {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, k.key...)
		if k.col >= 0 {
			b = appendJSONValue(b, cols[k.col], row)
		} else {
			b = k.appendObject(b, cols, row)
		}
	}
	return append(b, '}')
}

func appendJSONValue(b []byte, col arrow.Array, i int) []byte {
	if col.IsNull(i) {
		return append(b, "null"...)
	}
	switch a := col.(type) {
	case *array.Int8:
		return strconv.AppendInt(b, int64(a.Value(i)), 10)
	case *array.Int16:
		return strconv.AppendInt(b, int64(a.Value(i)), 10)
	case *array.Int32:
		return strconv.AppendInt(b, int64(a.Value(i)), 10)
	case *array.Int64:
		return strconv.AppendInt(b, a.Value(i), 10)
	case *array.Uint8:
		return strconv.AppendUint(b, uint64(a.Value(i)), 10)
	case *array.Uint16:
		return strconv.AppendUint(b, uint64(a.Value(i)), 10)
	case *array.Uint32:
		return strconv.AppendUint(b, uint64(a.Value(i)), 10)
	case *array.Uint64:
		return strconv.AppendUint(b, a.Value(i), 10)
	case *array.Float32:
		return appendFloat(b, float64(a.Value(i)), 32)
	case *array.Float64:
		return appendFloat(b, a.Value(i), 64)
	case *array.Boolean:
		return strconv.AppendBool(b, a.Value(i))
	case *array.String:
		return AppendJSONString(b, a.Value(i))
	case *array.LargeString:
		return AppendJSONString(b, a.Value(i))
	case *array.StringView:
		return AppendJSONString(b, a.Value(i))
	case *array.Binary:
		return AppendJSONString(b, base64.StdEncoding.EncodeToString(a.Value(i)))
	case *array.LargeBinary:
		return AppendJSONString(b, base64.StdEncoding.EncodeToString(a.Value(i)))
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return AppendJSONString(b, a.Value(i).ToTime(unit).UTC().Format(time.RFC3339Nano))
	case *array.Date32:
		return AppendJSONString(b, a.Value(i).ToTime().Format(time.DateOnly))
	case *array.Date64:
		return AppendJSONString(b, a.Value(i).ToTime().Format(time.DateOnly))
	case *array.Decimal128:
		return AppendJSONString(b, a.Value(i).ToString(a.DataType().(*arrow.Decimal128Type).Scale))
	case *array.Decimal256:
		return AppendJSONString(b, a.Value(i).ToString(a.DataType().(*arrow.Decimal256Type).Scale))
	}
	v, err := json.Marshal(col.GetOneForMarshal(i))
	if err != nil {
		return AppendJSONString(b, col.ValueStr(i))
	}
	return append(b, v...)
}

// appendFloat writes NaN and ±Inf, which JSON numbers cannot be, as the
// strings "NaN", "Infinity" and "-Infinity" (what PostgreSQL and
// JavaScript's Number() read back): null would lose them silently. The JSON
// Lines reader reads these strings back into a float column.
func appendFloat(b []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(b, `"-Infinity"`...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, bits)
}

// AppendJSONString quotes s as a JSON string, as encoding/json does without
// HTML escaping: it escapes only what JSON requires (and U+2028/9 for
// JavaScript readers); invalid UTF-8 becomes U+FFFD. The stream
// destinations' envelope uses it too.
func AppendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
