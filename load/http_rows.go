package load

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/extensions"
)

// recordRows turns a record into JSON-ready rows. A dotted field name
// (properties.full_name) becomes a nested object, so mappings decide the
// shape of an API payload.
func recordRows(rec arrow.RecordBatch) ([]map[string]any, error) {
	n := int(rec.NumRows())
	rows := make([]map[string]any, n)
	for i := range rows {
		rows[i] = make(map[string]any, rec.NumCols())
	}
	for c, f := range rec.Schema().Fields() {
		col := rec.Column(c)
		path := strings.Split(f.Name, ".")
		for i := 0; i < n; i++ {
			v, err := cellValue(col, i)
			if err != nil {
				return nil, fmt.Errorf("row %d field %s: %w", i, f.Name, err)
			}
			if err := setPath(rows[i], path, v); err != nil {
				return nil, fmt.Errorf("row %d field %s: %w", i, f.Name, err)
			}
		}
	}
	return rows, nil
}

// setPath stores v at a dotted path, creating the objects on the way.
func setPath(m map[string]any, path []string, v any) error {
	for i, k := range path[:len(path)-1] {
		next, ok := m[k]
		if !ok {
			child := map[string]any{}
			m[k] = child
			m = child
			continue
		}
		child, ok := next.(map[string]any)
		if !ok {
			return fmt.Errorf("%s is both a value and an object", strings.Join(path[:i+1], "."))
		}
		m = child
	}
	last := path[len(path)-1]
	if _, ok := m[last].(map[string]any); ok {
		return fmt.Errorf("%s is both a value and an object", strings.Join(path, "."))
	}
	m[last] = v
	return nil
}

// cellValue converts one Arrow value into what encoding/json should write:
// integers stay exact, decimals are JSON numbers written from their exact
// text, timestamps are RFC 3339 in UTC, dates YYYY-MM-DD, binary base64,
// the json extension type is embedded as JSON, nested types recurse.
func cellValue(arr arrow.Array, i int) (any, error) {
	if arr.IsNull(i) {
		return nil, nil
	}
	switch a := arr.(type) {
	case *array.Boolean:
		return a.Value(i), nil
	case *array.Int8:
		return int64(a.Value(i)), nil
	case *array.Int16:
		return int64(a.Value(i)), nil
	case *array.Int32:
		return int64(a.Value(i)), nil
	case *array.Int64:
		return a.Value(i), nil
	case *array.Uint8:
		return uint64(a.Value(i)), nil
	case *array.Uint16:
		return uint64(a.Value(i)), nil
	case *array.Uint32:
		return uint64(a.Value(i)), nil
	case *array.Uint64:
		return a.Value(i), nil
	case *array.Float16:
		return finite(float64(a.Value(i).Float32())), nil
	case *array.Float32:
		return finite(float64(a.Value(i))), nil
	case *array.Float64:
		return finite(a.Value(i)), nil
	case *array.String:
		return a.Value(i), nil
	case *array.LargeString:
		return a.Value(i), nil
	case *array.StringView:
		return a.Value(i), nil
	case *array.Binary:
		return base64.StdEncoding.EncodeToString(a.Value(i)), nil
	case *array.LargeBinary:
		return base64.StdEncoding.EncodeToString(a.Value(i)), nil
	case *array.FixedSizeBinary:
		return base64.StdEncoding.EncodeToString(a.Value(i)), nil
	case *array.Timestamp:
		t := a.DataType().(*arrow.TimestampType)
		return a.Value(i).ToTime(t.Unit).UTC().Format(time.RFC3339Nano), nil
	case *array.Date32:
		return a.Value(i).ToTime().Format(time.DateOnly), nil
	case *array.Date64:
		return a.Value(i).ToTime().Format(time.DateOnly), nil
	case *array.Decimal128, *array.Decimal256:
		return json.Number(a.ValueStr(i)), nil
	case *extensions.JSONArray:
		raw := a.ValueStr(i)
		if !json.Valid([]byte(raw)) {
			return nil, fmt.Errorf("invalid JSON value %.40q", raw)
		}
		return json.RawMessage(raw), nil
	case array.ExtensionArray:
		return cellValue(a.Storage(), i)
	case *array.Dictionary:
		return cellValue(a.Dictionary(), a.GetValueIndex(i))
	case *array.Struct:
		st := a.DataType().(*arrow.StructType)
		m := make(map[string]any, a.NumField())
		for f := 0; f < a.NumField(); f++ {
			v, err := cellValue(a.Field(f), i)
			if err != nil {
				return nil, err
			}
			m[st.Field(f).Name] = v
		}
		return m, nil
	case *array.Map:
		start, end := a.ValueOffsets(i)
		keys, items := a.Keys(), a.Items()
		m := make(map[string]any, end-start)
		for j := int(start); j < int(end); j++ {
			k, err := cellValue(keys, j)
			if err != nil {
				return nil, err
			}
			v, err := cellValue(items, j)
			if err != nil {
				return nil, err
			}
			m[fmt.Sprint(k)] = v
		}
		return m, nil
	case array.ListLike:
		start, end := a.ValueOffsets(i)
		out := make([]any, 0, end-start)
		for j := int(start); j < int(end); j++ {
			v, err := cellValue(a.ListValues(), j)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	}
	// Times of day, durations, intervals: their Arrow text form.
	return arr.ValueStr(i), nil
}

// finite maps NaN and ±Inf, which JSON cannot carry, to null.
func finite(f float64) any {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	return f
}

// marshalJSON encodes v without HTML escaping: an API should receive "<"
// as it was in the source, not "\u003c".
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
