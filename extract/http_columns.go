package extract

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// colType is an http source column type.
type colType string

const (
	colString    colType = "string"
	colInt64     colType = "int64"
	colFloat64   colType = "float64"
	colBool      colType = "bool"
	colTimestamp colType = "timestamp"
	colDate      colType = "date"
	colJSON      colType = "json" // kept as the value's JSON text
)

var colAliases = map[string]colType{
	"string": colString, "text": colString, "varchar": colString,
	"int64": colInt64, "int": colInt64, "integer": colInt64, "bigint": colInt64,
	"float64": colFloat64, "float": colFloat64, "double": colFloat64, "number": colFloat64,
	"bool": colBool, "boolean": colBool,
	"timestamp": colTimestamp, "datetime": colTimestamp,
	"date": colDate,
	"json": colJSON,
}

func (t colType) arrow() arrow.DataType {
	switch t {
	case colInt64:
		return arrow.PrimitiveTypes.Int64
	case colFloat64:
		return arrow.PrimitiveTypes.Float64
	case colBool:
		return arrow.FixedWidthTypes.Boolean
	case colTimestamp:
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	case colDate:
		return arrow.FixedWidthTypes.Date32
	}
	return arrow.BinaryTypes.String
}

type column struct {
	name string
	path []string
	typ  colType
}

func declaredColumns(cols []*HTTPColumn) ([]column, error) {
	if len(cols) == 0 {
		return nil, nil
	}
	out := make([]column, 0, len(cols))
	seen := map[string]bool{}
	for i, c := range cols {
		if c == nil || c.Name == "" {
			return nil, fmt.Errorf("columns[%d]: name is required", i)
		}
		if seen[c.Name] {
			return nil, fmt.Errorf("columns[%d]: column %q declared twice", i, c.Name)
		}
		seen[c.Name] = true
		t := colString
		if c.Type != "" {
			var ok bool
			if t, ok = colAliases[strings.ToLower(c.Type)]; !ok {
				return nil, fmt.Errorf("columns[%d]: unknown type %q (want string, int64, float64, bool, timestamp, date or json)", i, c.Type)
			}
		}
		out = append(out, column{name: c.Name, path: strings.Split(c.Name, "."), typ: t})
	}
	return out, nil
}

func decodeRecord(raw json.RawMessage) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("a record is not a JSON object: %w", err)
	}
	return m, nil
}

// inferColumns takes the top-level fields of the first page in the order
// they first appear, typed by every non-null value on the page: all
// booleans → bool, all integers → int64, numbers → float64, strings that all
// read as RFC 3339 → timestamp, other strings → string, objects and arrays →
// json, a mix → string.
func inferColumns(raw []json.RawMessage) []column {
	var order []string
	kinds := map[string]map[colType]bool{}
	for _, rec := range raw {
		keys, vals := orderedFields(rec)
		for i, k := range keys {
			if _, ok := kinds[k]; !ok {
				kinds[k] = map[colType]bool{}
				order = append(order, k)
			}
			if t, ok := valueKind(vals[i]); ok {
				kinds[k][t] = true
			}
		}
	}
	cols := make([]column, len(order))
	for i, k := range order {
		cols[i] = column{name: k, path: []string{k}, typ: unify(kinds[k])}
	}
	return cols
}

func unify(ks map[colType]bool) colType {
	switch {
	case len(ks) == 1:
		for t := range ks {
			return t
		}
	case len(ks) == 2 && ks[colInt64] && ks[colFloat64]:
		return colFloat64
	case len(ks) == 2 && ks[colTimestamp] && ks[colString]:
		return colString
	}
	return colString
}

// orderedFields returns a record's top-level keys in document order with
// their raw values.
func orderedFields(raw json.RawMessage) ([]string, []json.RawMessage) {
	d := json.NewDecoder(bytes.NewReader(raw))
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return nil, nil
	}
	var keys []string
	var vals []json.RawMessage
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return keys, vals
		}
		k, _ := t.(string)
		var v json.RawMessage
		if err := d.Decode(&v); err != nil {
			return keys, vals
		}
		keys, vals = append(keys, k), append(vals, v)
	}
	return keys, vals
}

func valueKind(v json.RawMessage) (colType, bool) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "", false
	}
	switch v[0] {
	case 'n':
		return "", false
	case 't', 'f':
		return colBool, true
	case '{', '[':
		return colJSON, true
	case '"':
		var s string
		if json.Unmarshal(v, &s) == nil {
			if _, err := time.Parse(time.RFC3339Nano, s); err == nil {
				return colTimestamp, true
			}
		}
		return colString, true
	}
	if bytes.ContainsAny(v, ".eE") {
		return colFloat64, true
	}
	return colInt64, true
}

// append adds one decoded JSON value (json.Number for numbers) to b.
func (c column) append(b array.Builder, v any) error {
	if v == nil {
		b.AppendNull()
		return nil
	}
	switch c.typ {
	case colString:
		s, err := asText(v)
		if err != nil {
			return err
		}
		b.(*array.StringBuilder).Append(s)
	case colJSON:
		raw, err := json.Marshal(v)
		if err != nil {
			return err
		}
		b.(*array.StringBuilder).Append(string(raw))
	case colInt64:
		n, err := asInt(v)
		if err != nil {
			return err
		}
		b.(*array.Int64Builder).Append(n)
	case colFloat64:
		f, err := asFloat(v)
		if err != nil {
			return err
		}
		b.(*array.Float64Builder).Append(f)
	case colBool:
		switch x := v.(type) {
		case bool:
			b.(*array.BooleanBuilder).Append(x)
		case string:
			t, err := strconv.ParseBool(x)
			if err != nil {
				return fmt.Errorf("cannot read %q as bool", x)
			}
			b.(*array.BooleanBuilder).Append(t)
		default:
			return fmt.Errorf("cannot read %T as bool", v)
		}
	case colTimestamp:
		t, err := asTime(v)
		if err != nil {
			return err
		}
		b.(*array.TimestampBuilder).Append(arrow.Timestamp(t.UnixMicro()))
	case colDate:
		t, err := asTime(v)
		if err != nil {
			return err
		}
		b.(*array.Date32Builder).Append(arrow.Date32FromTime(t))
	}
	return nil
}

func asText(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	case bool:
		return strconv.FormatBool(x), nil
	}
	raw, err := json.Marshal(v)
	return string(raw), err
}

func asInt(v any) (int64, error) {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = x.String()
	case string:
		s = strings.TrimSpace(x)
	default:
		return 0, fmt.Errorf("cannot read %T as int64", v)
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	// 1e3 and 12.0 are integers written as floats.
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, fmt.Errorf("cannot read %q as int64", s)
	}
	return int64(f), nil
}

func asFloat(v any) (float64, error) {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = x.String()
	case string:
		s = strings.TrimSpace(x)
	default:
		return 0, fmt.Errorf("cannot read %T as float64", v)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("cannot read %q as float64", s)
	}
	return f, nil
}

var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999", time.DateOnly}

// asTime reads RFC 3339 and common variants (no zone means UTC), or a Unix
// time in seconds (milliseconds when it is that large).
func asTime(v any) (time.Time, error) {
	switch x := v.(type) {
	case string:
		for _, l := range timeLayouts {
			if t, err := time.Parse(l, strings.TrimSpace(x)); err == nil {
				return t.UTC(), nil
			}
		}
		return time.Time{}, fmt.Errorf("cannot read %q as a timestamp", x)
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return time.Time{}, fmt.Errorf("cannot read %s as a timestamp", x)
		}
		if math.Abs(f) >= 1e12 {
			return time.UnixMilli(int64(f)).UTC(), nil
		}
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("cannot read %T as a timestamp", v)
}
