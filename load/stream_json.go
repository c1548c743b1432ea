package load

import (
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/hoist-dev/hoist/internal/filefmt"
)

// jsonObject writes rows of a record (or a subset of its columns) as JSON
// objects straight into a byte slice, without building a map per row: a
// stream destination encodes every row it publishes, and at a million
// messages the maps and reflection of encoding/json cost more than the
// broker. Values are written exactly as cellValue says (http destination,
// rejected-rows file): dotted field names nest, integers and decimals stay
// exact, timestamps are RFC 3339 in UTC, binary is base64, NaN and ±Inf are
// null.
type jsonObject struct {
	fields []jsonField // in schema order at this level
}

// jsonField is one member of an object: a column (col ≥ 0) or a nested
// object of the dotted names that share this prefix.
type jsonField struct {
	name  []byte // the quoted member name and colon
	col   int
	child *jsonObject
}

// newJSONObject lays out the columns cols of schema (nil: all) as an object.
func newJSONObject(schema *arrow.Schema, cols []int) (*jsonObject, error) {
	if cols == nil {
		cols = make([]int, schema.NumFields())
		for i := range cols {
			cols[i] = i
		}
	}
	root := &jsonObject{}
	for _, c := range cols {
		path := strings.Split(schema.Field(c).Name, ".")
		obj := root
		for d, part := range path {
			last := d == len(path)-1
			var found *jsonField
			for i := range obj.fields {
				if string(obj.fields[i].name) == string(memberName(part)) {
					found = &obj.fields[i]
				}
			}
			switch {
			case found == nil && last:
				obj.fields = append(obj.fields, jsonField{name: memberName(part), col: c})
			case found == nil:
				obj.fields = append(obj.fields, jsonField{name: memberName(part), col: -1, child: &jsonObject{}})
				obj = obj.fields[len(obj.fields)-1].child
			case last || found.child == nil:
				return nil, fmt.Errorf("field %s: %s is both a value and an object", schema.Field(c).Name, strings.Join(path[:d+1], "."))
			default:
				obj = found.child
			}
		}
	}
	return root, nil
}

func memberName(s string) []byte {
	b := filefmt.AppendJSONString(nil, s)
	return append(b, ':')
}

// append writes row i of rec as a JSON object.
func (o *jsonObject) append(b []byte, rec arrow.RecordBatch, i int) ([]byte, error) {
	b = append(b, '{')
	for n, f := range o.fields {
		if n > 0 {
			b = append(b, ',')
		}
		b = append(b, f.name...)
		var err error
		if f.child != nil {
			b, err = f.child.append(b, rec, i)
		} else {
			b, err = appendJSONValue(b, rec.Column(f.col), i)
			if err != nil {
				err = fmt.Errorf("field %s: %w", rec.Schema().Field(f.col).Name, err)
			}
		}
		if err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

// appendJSONValue writes one value; the common types directly, the rest
// through cellValue.
func appendJSONValue(b []byte, arr arrow.Array, i int) ([]byte, error) {
	if arr.IsNull(i) {
		return append(b, "null"...), nil
	}
	switch a := arr.(type) {
	case *array.Boolean:
		return strconv.AppendBool(b, a.Value(i)), nil
	case *array.Int8:
		return strconv.AppendInt(b, int64(a.Value(i)), 10), nil
	case *array.Int16:
		return strconv.AppendInt(b, int64(a.Value(i)), 10), nil
	case *array.Int32:
		return strconv.AppendInt(b, int64(a.Value(i)), 10), nil
	case *array.Int64:
		return strconv.AppendInt(b, a.Value(i), 10), nil
	case *array.Uint8:
		return strconv.AppendUint(b, uint64(a.Value(i)), 10), nil
	case *array.Uint16:
		return strconv.AppendUint(b, uint64(a.Value(i)), 10), nil
	case *array.Uint32:
		return strconv.AppendUint(b, uint64(a.Value(i)), 10), nil
	case *array.Uint64:
		return strconv.AppendUint(b, a.Value(i), 10), nil
	case *array.Float32:
		return appendJSONFloat(b, float64(a.Value(i))), nil
	case *array.Float64:
		return appendJSONFloat(b, a.Value(i)), nil
	case *array.String:
		return filefmt.AppendJSONString(b, a.Value(i)), nil
	case *array.LargeString:
		return filefmt.AppendJSONString(b, a.Value(i)), nil
	case *array.Binary:
		return appendBase64(b, a.Value(i)), nil
	case *array.LargeBinary:
		return appendBase64(b, a.Value(i)), nil
	case *array.Timestamp:
		u := a.DataType().(*arrow.TimestampType).Unit
		b = append(b, '"')
		b = a.Value(i).ToTime(u).UTC().AppendFormat(b, time.RFC3339Nano)
		return append(b, '"'), nil
	case *array.Date32:
		b = append(b, '"')
		b = a.Value(i).ToTime().AppendFormat(b, time.DateOnly)
		return append(b, '"'), nil
	}
	v, err := cellValue(arr, i)
	if err != nil {
		return b, err
	}
	enc, err := marshalJSON(v)
	if err != nil {
		return b, err
	}
	return append(b, enc...), nil
}

// appendJSONFloat writes the shortest text that reads back as the same
// float64; NaN and ±Inf, which JSON cannot carry, are null (as cellValue).
func appendJSONFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

func appendBase64(b []byte, v []byte) []byte {
	b = append(b, '"')
	b = base64.StdEncoding.AppendEncode(b, v)
	return append(b, '"')
}
