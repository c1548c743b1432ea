package mappings

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/sync/spec"
)

// businessSource has the columns business apps cast: integer ids and
// quantities, money as decimals, event times.
func businessSource(t *testing.T, mem memory.Allocator) arrow.RecordBatch {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "qty", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "small", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "big", Type: arrow.PrimitiveTypes.Uint64, Nullable: true},
		{Name: "price", Type: &arrow.Decimal128Type{Precision: 12, Scale: 2}, Nullable: true},
		{Name: "at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
		{Name: "at_ns", Type: &arrow.TimestampType{Unit: arrow.Nanosecond}, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, -42, 0}, []bool{true, true, false})
	b.Field(1).(*array.Int32Builder).AppendValues([]int32{7, math.MinInt32, 0}, []bool{true, true, false})
	b.Field(2).(*array.Uint64Builder).AppendValues([]uint64{math.MaxUint64, 0, 0}, []bool{true, true, false})
	b.Field(3).(*array.Decimal128Builder).AppendValues([]decimal128.Num{decimal128.FromI64(1250), decimal128.FromI64(-5), {}}, []bool{true, true, false})
	at := time.Date(2023, 5, 1, 11, 0, 0, 0, time.UTC)
	us1, _ := arrow.TimestampFromTime(at, arrow.Microsecond)
	us2, _ := arrow.TimestampFromTime(at.Add(123456*time.Microsecond), arrow.Microsecond)
	b.Field(4).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{us1, us2, 0}, []bool{true, true, false})
	ns, _ := arrow.TimestampFromTime(at.Add(5*time.Nanosecond), arrow.Nanosecond)
	b.Field(5).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{ns, ns, 0}, []bool{true, true, false})
	return b.NewRecordBatch()
}

// cells renders a column as text: decimals with their scale, so "1.00" is
// told from "1".
func cells(col arrow.Array) []string {
	out := make([]string, col.Len())
	for i := range out {
		switch a := col.(type) {
		case *array.Decimal128:
			if a.IsValid(i) {
				out[i] = a.Value(i).ToString(a.DataType().(*arrow.Decimal128Type).Scale)
				continue
			}
		}
		out[i] = col.ValueStr(i)
	}
	return out
}

func TestBusinessCasts(t *testing.T) {
	tests := []struct {
		from, to, typ string
		want          string // cells joined by |
		wantErr       string
	}{
		{from: "qty", typ: "decimal(10,2)", want: "1.00|-42.00|(null)"},
		{from: "qty", typ: "decimal(4,2)", want: "1.00|-42.00|(null)"},
		{from: "qty", typ: "decimal(2,0)", want: "1|-42|(null)"},
		{from: "qty", typ: "decimal(3,2)", wantErr: "mappings[0] (qty → out): cast -42 to decimal(3, 2) (row 1 of the batch): 2 integer digits do not fit 1"},
		{from: "small", typ: "decimal(12,2)", want: "7.00|-2147483648.00|(null)"},
		{from: "big", typ: "decimal(38,18)", want: "18446744073709551615.000000000000000000|0.000000000000000000|(null)"},
		{from: "big", typ: "decimal(20,1)", wantErr: "cast 18446744073709551615 to decimal(20, 1) (row 0 of the batch)"},
		{from: "price", typ: "string", want: "12.50|-0.05|(null)"},
		{from: "price", typ: "decimal(14,4)", want: "12.5000|-0.0500|(null)"},
		{from: "at", typ: "string", want: "2023-05-01T11:00:00Z|2023-05-01T11:00:00.123456Z|(null)"},
		{from: "at_ns", typ: "string", want: "2023-05-01T11:00:00.000000005Z|2023-05-01T11:00:00.000000005Z|(null)"},
		{from: "at", typ: "json", want: `"2023-05-01T11:00:00Z"|"2023-05-01T11:00:00.123456Z"|(null)`},
		{from: "at_ns", typ: "json", want: `"2023-05-01T11:00:00.000000005Z"|"2023-05-01T11:00:00.000000005Z"|(null)`},
	}
	for _, tc := range tests {
		t.Run(tc.from+" as "+tc.typ, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			rec := businessSource(t, mem)
			defer rec.Release()
			m, err := New([]*spec.Mapping{{From: tc.from, To: "out", Type: tc.typ}}, rec.Schema(), mem)
			if err != nil {
				t.Fatal(err)
			}
			out, err := m.Map(context.Background(), rec)
			if tc.wantErr != "" {
				if err == nil {
					out.Release()
				}
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer out.Release()
			if got := strings.Join(cells(out.Column(0)), "|"); got != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestCastTypeBounds(t *testing.T) {
	for _, bad := range []string{"decimal(0,0)", "decimal(39,2)", "decimal(5,6)", "decimal(5,-1)"} {
		if _, err := CastType(bad); err == nil {
			t.Errorf("CastType(%q) accepted", bad)
		}
	}
}
