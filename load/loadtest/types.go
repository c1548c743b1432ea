package loadtest

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/sync/spec"
)

// Type is one Arrow type the suite round-trips, with the values it writes
// (the edges of its range among them); a NULL is always written too.
type Type struct {
	Name   string
	Type   arrow.DataType
	Values []any
}

func ts(unit arrow.TimeUnit, s string) arrow.Timestamp {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	v, err := arrow.TimestampFromTime(t, unit)
	if err != nil {
		panic(err)
	}
	return v
}

func date(s string) arrow.Date32 {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return arrow.Date32FromTime(t)
}

func dec(s string, prec, scale int32) decimal128.Num {
	n, err := decimal128.FromString(s, prec, scale)
	if err != nil {
		panic(err)
	}
	return n
}

// The types of the catalog. Each is its own claim: a destination that
// keeps float64 but not NaN claims Float64 and not FloatSpecial.
var (
	Int8   = Type{"int8", arrow.PrimitiveTypes.Int8, []any{int8(math.MinInt8), int8(math.MaxInt8), int8(0), int8(-1)}}
	Int16  = Type{"int16", arrow.PrimitiveTypes.Int16, []any{int16(math.MinInt16), int16(math.MaxInt16), int16(0)}}
	Int32  = Type{"int32", arrow.PrimitiveTypes.Int32, []any{int32(math.MinInt32), int32(math.MaxInt32), int32(0)}}
	Int64  = Type{"int64", arrow.PrimitiveTypes.Int64, []any{int64(math.MinInt64), int64(math.MaxInt64), int64(0), int64(-1)}}
	Uint8  = Type{"uint8", arrow.PrimitiveTypes.Uint8, []any{uint8(0), uint8(math.MaxUint8)}}
	Uint16 = Type{"uint16", arrow.PrimitiveTypes.Uint16, []any{uint16(0), uint16(math.MaxUint16)}}
	Uint32 = Type{"uint32", arrow.PrimitiveTypes.Uint32, []any{uint32(0), uint32(math.MaxUint32)}}
	Uint64 = Type{"uint64", arrow.PrimitiveTypes.Uint64, []any{uint64(0), uint64(math.MaxUint64), uint64(1) << 63}}

	Float32 = Type{"float32", arrow.PrimitiveTypes.Float32, []any{float32(0.1), float32(-1.5), float32(math.MaxFloat32),
		float32(math.SmallestNonzeroFloat32), float32(1e-10), float32(0)}}
	Float64 = Type{"float64", arrow.PrimitiveTypes.Float64, []any{0.1, -1.0 / 3, math.MaxFloat64, math.SmallestNonzeroFloat64,
		1e21, 123456789.123456789, 0.0}}
	// FloatSpecial is what JSON cannot carry: NaN, the infinities, -0.
	FloatSpecial = Type{"float64 NaN, Inf and -0", arrow.PrimitiveTypes.Float64, []any{math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1)}}

	Bool = Type{"bool", arrow.FixedWidthTypes.Boolean, []any{true, false}}
	// String includes the text "NULL", which must not come back as NULL.
	String      = Type{"string", arrow.BinaryTypes.String, []any{"a", "text with spaces", "0", "NULL", "true"}}
	LargeString = Type{"large_string", arrow.BinaryTypes.LargeString, []any{"large", "ü"}}
	// EmptyString is "" beside NULL: formats that write NULL as an empty
	// cell cannot tell them apart.
	EmptyString = Type{"empty string", arrow.BinaryTypes.String, []any{"", " "}}
	Binary      = Type{"binary", arrow.BinaryTypes.Binary, []any{[]byte{0}, []byte{0xff, 0x00, 0x10}, allBytes()}}
	EmptyBinary = Type{"empty binary", arrow.BinaryTypes.Binary, []any{[]byte{}}}

	Date32 = Type{"date32", arrow.FixedWidthTypes.Date32, []any{date("1970-01-01"), date("2024-02-29"), date("1900-01-01"),
		date("9999-12-31"), date("0001-01-01")}}
	// TimestampMicros is what hoist's sources read timestamps as.
	TimestampMicros = Type{"timestamp[us, UTC]", &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, []any{
		ts(arrow.Microsecond, "1970-01-01T00:00:00Z"), ts(arrow.Microsecond, "2024-02-29T12:34:56.789012Z"),
		ts(arrow.Microsecond, "1969-12-31T23:59:59.999999Z"), ts(arrow.Microsecond, "1900-01-01T00:00:00.000001Z"),
		ts(arrow.Microsecond, "9999-12-31T23:59:59.999999Z")}}
	TimestampNanos = Type{"timestamp[ns, UTC]", &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}, []any{
		ts(arrow.Nanosecond, "2024-02-29T12:34:56.123456789Z"), ts(arrow.Nanosecond, "1970-01-01T00:00:00.000000001Z")}}

	Decimal = Type{"decimal128(38,9)", &arrow.Decimal128Type{Precision: 38, Scale: 9}, []any{
		dec("0", 38, 9), dec("12.5", 38, 9), dec("0.000000001", 38, 9),
		dec("-12345678901234567890123456789.123456789", 38, 9), dec("99999999999999999999999999999.999999999", 38, 9)}}
	DecimalSmall = Type{"decimal128(9,2)", &arrow.Decimal128Type{Precision: 9, Scale: 2}, []any{
		dec("12.50", 9, 2), dec("-0.01", 9, 2), dec("9999999.99", 9, 2)}}
)

func allBytes() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// AllTypes is the whole catalog.
func AllTypes() []Type {
	return []Type{Int8, Int16, Int32, Int64, Uint8, Uint16, Uint32, Uint64, Float32, Float64, FloatSpecial,
		Bool, String, LargeString, EmptyString, Binary, EmptyBinary, Date32, TimestampMicros, TimestampNanos, Decimal, DecimalSmall}
}

// Without is types less those named by drop.
func Without(types []Type, drop ...Type) []Type {
	return slices.DeleteFunc(slices.Clone(types), func(t Type) bool {
		return slices.ContainsFunc(drop, func(d Type) bool { return d.Name == t.Name })
	})
}

// types round-trips every type of the catalog: a claimed one must read
// back with every value exact; the others are skipped.
func (s *suite) types(t *testing.T) {
	mode := s.firstMode(spec.ModeUpsert, spec.ModeInsert, spec.ModeAppend, spec.ModeReplace, spec.ModeMirror)
	if mode == "" {
		t.Skip("no mode that writes new rows is claimed")
	}
	for _, ty := range AllTypes() {
		s.check(t, ty.Name, func(t *testing.T) {
			if !slices.ContainsFunc(s.h.Types, func(c Type) bool { return c.Name == ty.Name }) {
				t.Skipf("type %s not claimed", ty.Name)
			}
			s.roundTrip(t, objectName("ty_", ty.Name), mode, ty)
		})
	}
}

func (s *suite) roundTrip(t *testing.T, obj, mode string, ty Type) {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "v", Type: ty.Type, Nullable: true},
	}, nil)
	rows := make([]row, 0, len(ty.Values)+1)
	for i, v := range ty.Values {
		rows = append(rows, row{i + 1, v})
	}
	rows = append(rows, row{len(ty.Values) + 1, nil})
	s.writeTwice(t, obj, mode, schema, rows, row{len(rows) + 1, ty.Values[0]})
}

// writeTwice writes rows in one run and expects them back; then, unless
// mode replaces, it writes one more row in a second run and expects the
// first rows unchanged beside it: a destination that rewrites the object
// to add a row (the files merge) reads the old rows back first, and must
// not lose anything doing so.
func (s *suite) writeTwice(t *testing.T, obj, mode string, schema *arrow.Schema, rows []row, more row) {
	t.Helper()
	r := s.begin(t, obj, mode, schema)
	noRejects(t, "the first run", r.write(load.OpFor(mode), rows...))
	r.commit()
	s.expect(t, obj, "after writing them", schema, rows...)
	if mode == spec.ModeReplace {
		return
	}
	r = s.begin(t, obj, mode, schema)
	noRejects(t, "the second run", r.write(load.OpFor(mode), more))
	r.commit()
	s.expect(t, obj, "after a second run added a row", schema, append(slices.Clone(rows), more)...)
}

// objectName makes a name safe for every destination (a table, a file, a
// URL path segment) from prefix and a type's name.
func objectName(prefix, name string) string {
	b := []byte(prefix)
	for _, c := range []byte(name) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b = append(b, c)
		case c >= 'A' && c <= 'Z':
			b = append(b, c+'a'-'A')
		case len(b) > 0 && b[len(b)-1] != '_':
			b = append(b, '_')
		}
	}
	for len(b) > 0 && b[len(b)-1] == '_' {
		b = b[:len(b)-1]
	}
	return string(b)
}
