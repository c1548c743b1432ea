// Package mappings turns extracted Arrow records into destination rows:
// renames, constants, casts. Dotted target names stay flat in Arrow
// ("properties.full_name"); JSON destinations nest them when they encode.
package mappings

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/sync/spec"
)

// field is one output column: a source column (from >= 0) or a constant.
type field struct {
	from     int
	constant *string
	cast     arrow.DataType // nil: keep the source type
	asJSON   bool           // cast "json": encode any value as JSON text
	label    string         // "mappings[2] (email → contact.email)" for errors
}

// Mapper applies a sync's mappings to records of one input schema.
type Mapper struct {
	identity bool
	fields   []field
	schema   *arrow.Schema
	mem      memory.Allocator
}

// New builds a mapper for input schema in. No mappings means every column
// maps to itself. Errors name the mapping (index, from, to).
func New(ms []*spec.Mapping, in *arrow.Schema, mem memory.Allocator) (*Mapper, error) {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	if len(ms) == 0 {
		return &Mapper{identity: true, schema: in, mem: mem}, nil
	}
	m := &Mapper{mem: mem}
	out := make([]arrow.Field, 0, len(ms))
	for i, mp := range ms {
		f := field{from: -1, constant: mp.Value}
		if mp.From != "" {
			f.label = fmt.Sprintf("mappings[%d] (%s → %s)", i, mp.From, mp.To)
			idx := in.FieldIndices(mp.From)
			if len(idx) == 0 {
				return nil, fmt.Errorf("%s: source has no column %q (columns: %s)", f.label, mp.From, columnList(in))
			}
			f.from = idx[0]
		} else {
			f.label = fmt.Sprintf("mappings[%d] (value → %s)", i, mp.To)
		}
		var typ arrow.DataType
		switch {
		case mp.Type == "json":
			f.asJSON, typ = true, arrow.BinaryTypes.String
		case mp.Type != "":
			t, err := CastType(mp.Type)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f.label, err)
			}
			f.cast, typ = t, t
		case f.from >= 0:
			typ = in.Field(f.from).Type
		default:
			typ = arrow.BinaryTypes.String
		}
		if f.constant != nil && f.cast == nil && !f.asJSON {
			f.cast = arrow.BinaryTypes.String
		}
		nullable := true
		var md arrow.Metadata
		if f.from >= 0 && f.cast == nil && !f.asJSON {
			// an uncast column keeps what its source said of it (its Postgres type)
			nullable, md = in.Field(f.from).Nullable, in.Field(f.from).Metadata
		}
		m.fields = append(m.fields, f)
		out = append(out, arrow.Field{Name: mp.To, Type: typ, Nullable: nullable, Metadata: md})
	}
	m.schema = arrow.NewSchema(out, nil)
	return m, nil
}

// Schema is the schema of mapped records.
func (m *Mapper) Schema() *arrow.Schema { return m.schema }

// Map returns the mapped record; the caller releases it. A value that does
// not cast fails the whole record with an error naming the mapping and row.
func (m *Mapper) Map(ctx context.Context, rec arrow.Record) (arrow.Record, error) {
	if m.identity {
		rec.Retain()
		return rec, nil
	}
	n := int(rec.NumRows())
	cols := make([]arrow.Array, 0, len(m.fields))
	release := func() {
		for _, c := range cols {
			c.Release()
		}
	}
	for _, f := range m.fields {
		col, err := m.column(ctx, f, rec, n)
		if err != nil {
			release()
			return nil, err
		}
		cols = append(cols, col)
	}
	out := array.NewRecord(m.schema, cols, int64(n))
	release()
	return out, nil
}

func (m *Mapper) column(ctx context.Context, f field, rec arrow.Record, n int) (arrow.Array, error) {
	var src arrow.Array
	if f.constant != nil {
		b := array.NewStringBuilder(m.mem)
		b.Reserve(n)
		for i := 0; i < n; i++ {
			b.Append(*f.constant)
		}
		src = b.NewArray()
	} else {
		src = rec.Column(f.from)
		src.Retain()
	}
	defer src.Release()
	switch {
	case f.asJSON:
		return toJSON(src, m.mem, f.label)
	case f.cast == nil || arrow.TypeEqual(src.DataType(), f.cast):
		src.Retain()
		return src, nil
	}
	return castArray(ctx, src, f.cast, m.mem, f.label)
}

// firstBadRow finds the first row that fails the cast, so the message can
// name it; only called on the error path.
func firstBadRow(ctx context.Context, src arrow.Array, to arrow.DataType) string {
	for i := 0; i < src.Len(); i++ {
		one := array.NewSlice(src, int64(i), int64(i+1))
		out, err := compute.CastArray(ctx, one, compute.SafeCastOptions(to))
		one.Release()
		if err != nil {
			return fmt.Sprintf(" (row %d of the batch: %q)", i, src.ValueStr(i))
		}
		out.Release()
	}
	return ""
}

func toJSON(src arrow.Array, mem memory.Allocator, label string) (arrow.Array, error) {
	b := array.NewStringBuilder(mem)
	defer b.Release()
	b.Reserve(src.Len())
	_, isString := src.(*array.String)
	ts, isTimestamp := src.(*array.Timestamp)
	for i := 0; i < src.Len(); i++ {
		if src.IsNull(i) {
			b.AppendNull()
			continue
		}
		if isTimestamp {
			// arrow's JSON form is "2023-05-01 11:00:00.000000Z"; hoist's is RFC 3339
			unit := ts.DataType().(*arrow.TimestampType).Unit
			b.Append(strconv.Quote(FormatTimestamp(ts.Value(i), unit)))
			continue
		}
		if isString {
			s := src.ValueStr(i)
			if !json.Valid([]byte(s)) {
				return nil, fmt.Errorf("%s: row %d is not valid JSON", label, i)
			}
			b.Append(s)
			continue
		}
		data, err := json.Marshal(src.GetOneForMarshal(i))
		if err != nil {
			return nil, fmt.Errorf("%s: row %d: encode JSON: %w", label, i, err)
		}
		b.Append(string(data))
	}
	return b.NewArray(), nil
}

// CastType returns the Arrow type a mapping's `type:` names.
func CastType(t string) (arrow.DataType, error) {
	switch t {
	case "string":
		return arrow.BinaryTypes.String, nil
	case "int64":
		return arrow.PrimitiveTypes.Int64, nil
	case "float64":
		return arrow.PrimitiveTypes.Float64, nil
	case "bool":
		return arrow.FixedWidthTypes.Boolean, nil
	case "timestamp":
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, nil
	case "date":
		return arrow.FixedWidthTypes.Date32, nil
	case "json":
		return arrow.BinaryTypes.String, nil
	}
	var p, s int32
	if n, _ := fmt.Sscanf(t, "decimal(%d,%d)", &p, &s); n == 2 {
		if p < 1 || p > 38 || s < 0 || s > p {
			return nil, fmt.Errorf("type %q: want decimal(p,s) with 1 ≤ p ≤ 38 and 0 ≤ s ≤ p", t)
		}
		return &arrow.Decimal128Type{Precision: p, Scale: s}, nil
	}
	return nil, fmt.Errorf("unknown type %q", t)
}

func columnList(s *arrow.Schema) string {
	names := make([]string, s.NumFields())
	for i, f := range s.Fields() {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}

func isText(a arrow.Array) bool {
	switch a.DataType().ID() {
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW:
		return true
	}
	return false
}

// textToDecimal parses decimal text exactly ("12.50", "-3", "1e3"); a value
// that does not fit the precision and scale fails naming its row.
func textToDecimal(src arrow.Array, dt *arrow.Decimal128Type, mem memory.Allocator, label string) (arrow.Array, error) {
	b := array.NewDecimal128Builder(mem, dt)
	defer b.Release()
	b.Reserve(src.Len())
	for i := 0; i < src.Len(); i++ {
		if src.IsNull(i) {
			b.AppendNull()
			continue
		}
		text := strings.TrimSpace(src.ValueStr(i))
		n, err := decimal128.FromString(text, dt.Precision, dt.Scale)
		if err != nil {
			return nil, fmt.Errorf("%s: cast %q to %s (row %d of the batch): %w", label, text, dt, i, err)
		}
		b.Append(n)
	}
	return b.NewArray(), nil
}
