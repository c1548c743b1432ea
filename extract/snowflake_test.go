package extract

import (
	"context"
	"encoding/json"
	"math/big"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/extract/snowflaketest"
	"github.com/hoist-dev/hoist/sync/spec"
)

func sfConn(s *snowflaketest.Server) *spec.Connection {
	return &spec.Connection{Name: "warehouse", Type: SnowflakeType, Config: &SnowflakeConfig{DSN: spec.Secret(s.DSN("TESTDB", "PUBLIC"))}}
}

// openSF opens a Snowflake source on the fake and closes it with the test.
func openSF(t *testing.T, conn *spec.Connection) Source {
	t.Helper()
	src, err := Open(context.Background(), conn, t.TempDir())
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := src.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return src
}

// sfReadAll reads everything, returning retained records and the schema.
func sfReadAll(t *testing.T, src Source, req Request) (*arrow.Schema, []arrow.RecordBatch, error) {
	t.Helper()
	rr, err := src.Read(context.Background(), req)
	if err != nil {
		return nil, nil, err
	}
	defer rr.Release()
	var recs []arrow.RecordBatch
	for rr.Next() {
		rec := rr.RecordBatch()
		if !rec.Schema().Equal(rr.Schema()) {
			t.Fatalf("record schema %v differs from reader schema %v", rec.Schema(), rr.Schema())
		}
		rec.Retain()
		recs = append(recs, rec)
	}
	return rr.Schema(), recs, rr.Err()
}

func sfRelease(recs []arrow.RecordBatch) {
	for _, r := range recs {
		r.Release()
	}
}

// column concatenates column name across records.
func sfColumnOf(t *testing.T, schema *arrow.Schema, recs []arrow.RecordBatch, name string) arrow.Array {
	t.Helper()
	idx := schema.FieldIndices(name)
	if len(idx) != 1 {
		t.Fatalf("no column %q in %v", name, schema)
	}
	parts := make([]arrow.Array, len(recs))
	for i, r := range recs {
		parts[i] = r.Column(idx[0])
	}
	a, err := array.Concatenate(parts, memory.NewGoAllocator())
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func sfCheckedAlloc(t *testing.T) *memory.CheckedAllocator {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return mem
}

func sfDec(t *testing.T, s string, p, sc int32) decimal128.Num {
	n, err := decimal128.FromString(s, p, sc)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// sfTypesRow is one row of the all-types table, as plain Go values.
type sfTypesRow struct {
	id     int64
	amount string // NUMBER(12,2)
	big    string // NUMBER(38,10)
	f      float64
	s      string
	b      bool
	d      time.Time
	tm     time.Duration // since midnight
	ntz    time.Time     // wall clock, as UTC
	ntz3   time.Time
	ltz    time.Time
	tz     time.Time
	tz3    time.Time
	v      string
	bin    []byte
}

var sfTypesCols = []snowflaketest.Column{
	{Name: "ID", Type: snowflaketest.Fixed, Precision: 38},
	{Name: "AMOUNT", Type: snowflaketest.Fixed, Precision: 12, Scale: 2, Nullable: true},
	{Name: "BIG", Type: snowflaketest.Fixed, Precision: 38, Scale: 10, Nullable: true},
	{Name: "F", Type: snowflaketest.Real, Nullable: true},
	{Name: "S", Type: snowflaketest.Text, Nullable: true},
	{Name: "B", Type: snowflaketest.Boolean, Nullable: true},
	{Name: "D", Type: snowflaketest.Date, Nullable: true},
	{Name: "TM", Type: snowflaketest.Time, Scale: 9, Nullable: true},
	{Name: "NTZ", Type: snowflaketest.TimestampNTZ, Scale: 9, Nullable: true},
	{Name: "NTZ3", Type: snowflaketest.TimestampNTZ, Scale: 3, Nullable: true},
	{Name: "LTZ", Type: snowflaketest.TimestampLTZ, Scale: 9, Nullable: true},
	{Name: "TZ", Type: snowflaketest.TimestampTZ, Scale: 9, Nullable: true, TZOffsetMinutes: 120},
	{Name: "TZ3", Type: snowflaketest.TimestampTZ, Scale: 3, Nullable: true, TZOffsetMinutes: -300},
	{Name: "V", Type: snowflaketest.Variant, Nullable: true},
	{Name: "BIN", Type: snowflaketest.Binary, Nullable: true},
}

var sfTypesRows = []sfTypesRow{
	{
		id: 1, amount: "12345.67", big: "1234567890123456789012345678.0123456789", f: 0.1, s: "héllo",
		b: true, d: time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), tm: 13*time.Hour + 14*time.Minute + 15*time.Second + 123456789,
		ntz:  time.Date(2024, 1, 2, 3, 4, 5, 123456789, time.UTC),
		ntz3: time.Date(1969, 12, 31, 23, 59, 59, 999000000, time.UTC),
		ltz:  time.Date(2024, 6, 1, 12, 0, 0, 654321000, time.UTC),
		tz:   time.Date(2024, 6, 1, 10, 0, 0, 1000, time.UTC),
		tz3:  time.Date(2024, 6, 1, 17, 0, 0, 5000000, time.UTC),
		v:    `{"a":[1,2,{"b":null}]}`, bin: []byte{0, 1, 0xfe, 0xff},
	},
	{
		id: 2, amount: "-0.01", big: "-0.0000000001", f: -1.5e300, s: "",
		b: false, d: time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), tm: 0,
		// Past 2262: nanosecond timestamps overflow, microseconds do not.
		ntz:  time.Date(2500, 7, 4, 1, 2, 3, 456789000, time.UTC),
		ntz3: time.Date(9999, 12, 31, 23, 59, 59, 999000000, time.UTC),
		ltz:  time.Date(1800, 1, 1, 0, 0, 0, 0, time.UTC),
		tz:   time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC),
		tz3:  time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
		v:    `[]`, bin: []byte{},
	},
	{id: 3}, // every other column NULL
}

// sfTypesRecord builds the all-types table's logical Arrow record.
func sfTypesRecord(t *testing.T) arrow.RecordBatch {
	mem := memory.NewGoAllocator()
	fields := []arrow.Field{
		{Name: "ID", Type: arrow.PrimitiveTypes.Int64},
		{Name: "AMOUNT", Type: &arrow.Decimal128Type{Precision: 12, Scale: 2}},
		{Name: "BIG", Type: &arrow.Decimal128Type{Precision: 38, Scale: 10}},
		{Name: "F", Type: arrow.PrimitiveTypes.Float64},
		{Name: "S", Type: arrow.BinaryTypes.String},
		{Name: "B", Type: arrow.FixedWidthTypes.Boolean},
		{Name: "D", Type: arrow.FixedWidthTypes.Date32},
		{Name: "TM", Type: arrow.FixedWidthTypes.Time64ns},
		// Logical timestamps in microseconds so 2500 and 9999 fit.
		{Name: "NTZ", Type: arrow.FixedWidthTypes.Timestamp_us},
		{Name: "NTZ3", Type: arrow.FixedWidthTypes.Timestamp_us},
		{Name: "LTZ", Type: arrow.FixedWidthTypes.Timestamp_us},
		{Name: "TZ", Type: arrow.FixedWidthTypes.Timestamp_us},
		{Name: "TZ3", Type: arrow.FixedWidthTypes.Timestamp_us},
		{Name: "V", Type: arrow.BinaryTypes.String},
		{Name: "BIN", Type: arrow.BinaryTypes.Binary},
	}
	b := array.NewRecordBuilder(mem, arrow.NewSchema(fields, nil))
	defer b.Release()
	for _, r := range sfTypesRows {
		b.Field(0).(*array.Int64Builder).Append(r.id)
		if r.amount == "" {
			for i := 1; i < len(fields); i++ {
				b.Field(i).AppendNull()
			}
			continue
		}
		b.Field(1).(*array.Decimal128Builder).Append(sfDec(t, r.amount, 12, 2))
		b.Field(2).(*array.Decimal128Builder).Append(sfDec(t, r.big, 38, 10))
		b.Field(3).(*array.Float64Builder).Append(r.f)
		b.Field(4).(*array.StringBuilder).Append(r.s)
		b.Field(5).(*array.BooleanBuilder).Append(r.b)
		b.Field(6).(*array.Date32Builder).Append(arrow.Date32FromTime(r.d))
		b.Field(7).(*array.Time64Builder).Append(arrow.Time64(r.tm.Nanoseconds()))
		for i, ts := range []time.Time{r.ntz, r.ntz3, r.ltz, r.tz, r.tz3} {
			b.Field(8 + i).(*array.TimestampBuilder).Append(arrow.Timestamp(ts.UnixMicro()))
		}
		b.Field(13).(*array.StringBuilder).Append(r.v)
		b.Field(14).(*array.BinaryBuilder).Append(r.bin)
	}
	return b.NewRecordBatch()
}

// TestIntegrationSnowflakeTypes reads every Snowflake type through the real
// driver (inline rowset plus two remote chunks) and compares values.
func TestIntegrationSnowflakeTypes(t *testing.T) {
	rec := sfTypesRecord(t)
	tab, err := snowflaketest.NewTable("ALL_TYPES", sfTypesCols, rec)
	if err != nil {
		t.Fatal(err)
	}
	fake := snowflaketest.New(snowflaketest.Options{InlineRows: 1, ChunkRows: 1, Tables: []*snowflaketest.Table{tab}})
	t.Cleanup(fake.Close)
	mem := sfCheckedAlloc(t)
	src := openSF(t, sfConn(fake))
	schema, recs, err := sfReadAll(t, src, Request{Sync: "types", Source: &spec.Source{Config: &connector.SQLSource{Table: "all_types"}}, Alloc: mem})
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	defer sfRelease(recs)

	utc := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	ntz := &arrow.TimestampType{Unit: arrow.Microsecond}
	wantTypes := map[string]arrow.DataType{
		"id": arrow.PrimitiveTypes.Int64, "amount": &arrow.Decimal128Type{Precision: 12, Scale: 2},
		"big": &arrow.Decimal128Type{Precision: 38, Scale: 10}, "f": arrow.PrimitiveTypes.Float64,
		"s": arrow.BinaryTypes.String, "b": arrow.FixedWidthTypes.Boolean, "d": arrow.FixedWidthTypes.Date32,
		"tm": arrow.FixedWidthTypes.Time64us, "ntz": ntz, "ntz3": ntz, "ltz": utc, "tz": utc, "tz3": utc,
		"v": arrow.BinaryTypes.String, "bin": arrow.BinaryTypes.Binary,
	}
	if schema.NumFields() != len(wantTypes) {
		t.Fatalf("schema %v", schema)
	}
	for name, typ := range wantTypes {
		f, ok := schema.FieldsByName(name)
		if !ok || !arrow.TypeEqual(f[0].Type, typ) {
			t.Errorf("column %s: type %v, want %v", name, f, typ)
		}
	}

	cols := map[string]arrow.Array{}
	for name := range wantTypes {
		cols[name] = sfColumnOf(t, schema, recs, name)
		defer cols[name].Release()
	}
	if n := cols["id"].Len(); n != len(sfTypesRows) {
		t.Fatalf("got %d rows, want %d", n, len(sfTypesRows))
	}
	micros := func(ts time.Time) arrow.Timestamp { return arrow.Timestamp(ts.UnixMicro()) }
	for i, want := range sfTypesRows {
		if got := cols["id"].(*array.Int64).Value(i); got != want.id {
			t.Errorf("row %d id = %d, want %d", i, got, want.id)
		}
		if want.amount == "" {
			for name, a := range cols {
				if name != "id" && !a.IsNull(i) {
					t.Errorf("row %d %s = %s, want NULL", i, name, a.ValueStr(i))
				}
			}
			continue
		}
		checks := []struct {
			name      string
			got, want any
		}{
			{"amount", cols["amount"].(*array.Decimal128).Value(i), sfDec(t, want.amount, 12, 2)},
			{"big", cols["big"].(*array.Decimal128).Value(i), sfDec(t, want.big, 38, 10)},
			{"f", cols["f"].(*array.Float64).Value(i), want.f},
			{"s", cols["s"].(*array.String).Value(i), want.s},
			{"b", cols["b"].(*array.Boolean).Value(i), want.b},
			{"d", cols["d"].(*array.Date32).Value(i).ToTime(), want.d},
			{"tm", cols["tm"].(*array.Time64).Value(i), arrow.Time64(want.tm.Microseconds())},
			{"ntz", cols["ntz"].(*array.Timestamp).Value(i), micros(want.ntz)},
			{"ntz3", cols["ntz3"].(*array.Timestamp).Value(i), micros(want.ntz3)},
			{"ltz", cols["ltz"].(*array.Timestamp).Value(i), micros(want.ltz)},
			{"tz", cols["tz"].(*array.Timestamp).Value(i), micros(want.tz)},
			{"tz3", cols["tz3"].(*array.Timestamp).Value(i), micros(want.tz3)},
			{"v", cols["v"].(*array.String).Value(i), want.v},
			{"bin", string(cols["bin"].(*array.Binary).Value(i)), string(want.bin)},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("row %d %s = %v, want %v", i, c.name, c.got, c.want)
			}
		}
	}
}

// TestIntegrationSnowflakeIntWidths: Snowflake sends NUMBER(38,0) as int8,
// int16, int64 or decimal128 from chunk to chunk; hoist yields one int64.
func TestIntegrationSnowflakeIntWidths(t *testing.T) {
	vals := []int64{1, -2, 300, -400, 5_000_000_000, -6_000_000_000, 7, 8}
	b := array.NewInt64Builder(memory.NewGoAllocator())
	b.AppendValues(vals, nil)
	ids := b.NewArray()
	rec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "N", Type: arrow.PrimitiveTypes.Int64}}, nil), []arrow.Array{ids}, int64(len(vals)))
	tab, err := snowflaketest.NewTable("NUMS", []snowflaketest.Column{{Name: "N", Type: snowflaketest.Fixed, Precision: 38}}, rec)
	if err != nil {
		t.Fatal(err)
	}
	fake := snowflaketest.New(snowflaketest.Options{ChunkRows: 2, Tables: []*snowflaketest.Table{tab}})
	t.Cleanup(fake.Close)
	mem := sfCheckedAlloc(t)
	src := openSF(t, sfConn(fake))
	schema, recs, err := sfReadAll(t, src, Request{Source: &spec.Source{Config: &connector.SQLSource{Query: "select * from nums"}}, Alloc: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer sfRelease(recs)
	if len(recs) != 4 {
		t.Errorf("got %d records, want one per chunk (4)", len(recs))
	}
	got := sfColumnOf(t, schema, recs, "n")
	defer got.Release()
	if !arrow.TypeEqual(got.DataType(), arrow.PrimitiveTypes.Int64) {
		t.Fatalf("type %v, want int64", got.DataType())
	}
	for i, v := range vals {
		if got.(*array.Int64).Value(i) != v {
			t.Errorf("row %d = %d, want %d", i, got.(*array.Int64).Value(i), v)
		}
	}
}

// TestIntegrationSnowflakeIntOverflow: a NUMBER(38,0) value beyond int64
// fails the read with a hint, never wraps around.
func TestIntegrationSnowflakeIntOverflow(t *testing.T) {
	huge, _ := new(big.Int).SetString("123456789012345678901234567890", 10)
	b := array.NewDecimal128Builder(memory.NewGoAllocator(), &arrow.Decimal128Type{Precision: 38, Scale: 0})
	b.Append(decimal128.FromI64(1))
	b.Append(decimal128.FromBigInt(huge))
	a := b.NewArray()
	rec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "N", Type: a.DataType()}}, nil), []arrow.Array{a}, 2)
	tab, err := snowflaketest.NewTable("HUGE", []snowflaketest.Column{{Name: "N", Type: snowflaketest.Fixed, Precision: 38}}, rec)
	if err != nil {
		t.Fatal(err)
	}
	fake := snowflaketest.New(snowflaketest.Options{Tables: []*snowflaketest.Table{tab}})
	t.Cleanup(fake.Close)
	mem := sfCheckedAlloc(t)
	src := openSF(t, sfConn(fake))
	_, recs, err := sfReadAll(t, src, Request{Source: &spec.Source{Config: &connector.SQLSource{Table: "HUGE"}}, Alloc: mem})
	sfRelease(recs)
	if err == nil || !strings.Contains(err.Error(), "does not fit in int64") || !strings.Contains(err.Error(), huge.String()) {
		t.Fatalf("err = %v, want an int64 overflow error naming the value", err)
	}
}

// sfPeakAlloc tracks the high-water mark of live Arrow bytes.
type sfPeakAlloc struct {
	memory.Allocator
	cur, peak atomic.Int64
}

func (p *sfPeakAlloc) add(n int) {
	c := p.cur.Add(int64(n))
	for {
		old := p.peak.Load()
		if c <= old || p.peak.CompareAndSwap(old, c) {
			return
		}
	}
}

func (p *sfPeakAlloc) Allocate(n int) []byte { p.add(n); return p.Allocator.Allocate(n) }
func (p *sfPeakAlloc) Free(b []byte)         { p.add(-len(b)); p.Allocator.Free(b) }
func (p *sfPeakAlloc) Reallocate(n int, b []byte) []byte {
	p.add(n - len(b))
	return p.Allocator.Reallocate(n, b)
}

func sfLoginBody(t *testing.T, fake *snowflaketest.Server) map[string]any {
	t.Helper()
	for _, r := range fake.Requests() {
		if r.Path == "/session/v1/login-request" {
			var body struct {
				Data map[string]any `json:"data"`
			}
			if err := json.Unmarshal(r.Body, &body); err != nil {
				t.Fatal(err)
			}
			return body.Data
		}
	}
	t.Fatal("no login request")
	return nil
}
