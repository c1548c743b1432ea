package snowflaketest

import (
	"fmt"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestWireForms checks the fake encodes values the way the protocol notes
// say Snowflake does, independently of the driver.
func TestWireForms(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ints := func(vals ...int64) arrow.Array {
		b := array.NewInt64Builder(mem)
		defer b.Release()
		b.AppendValues(vals, nil)
		return b.NewArray()
	}
	ts := time.Date(2500, 1, 2, 3, 4, 5, 123456789, time.UTC)
	sec := ts.Unix() // past 2262: would overflow int64 nanoseconds
	tsArr := func() arrow.Array {
		b := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: arrow.Microsecond})
		defer b.Release()
		b.Append(arrow.Timestamp(ts.UnixMicro()))
		return b.NewArray()
	}
	cases := []struct {
		name  string
		col   Column
		in    func() arrow.Array
		want  string // wire type
		value string // first value as Arrow prints it
	}{
		{"int8", Column{Type: Fixed, Precision: 38}, func() arrow.Array { return ints(1, -128, 127) }, "int8", "1"},
		{"int16", Column{Type: Fixed, Precision: 38}, func() arrow.Array { return ints(1, 300) }, "int16", "1"},
		{"int32", Column{Type: Fixed, Precision: 38}, func() arrow.Array { return ints(1, 70_000) }, "int32", "1"},
		{"int64", Column{Type: Fixed, Precision: 38}, func() arrow.Array { return ints(1, 5_000_000_000) }, "int64", "1"},
		{"ntz scale 3", Column{Type: TimestampNTZ, Scale: 3}, tsArr, "int64", fmt.Sprint(sec*1000 + 123)},
		{"ntz scale 9", Column{Type: TimestampNTZ, Scale: 9}, tsArr, "struct<epoch: int64, fraction: int32>", fmt.Sprintf(`{"epoch":%d,"fraction":123456000}`, sec)},
		{"tz scale 3", Column{Type: TimestampTZ, Scale: 3, TZOffsetMinutes: 60}, tsArr, "struct<epoch: int64, timezone: int32>", fmt.Sprintf(`{"epoch":%d,"timezone":1500}`, sec*1000+123)},
		{"tz scale 9", Column{Type: TimestampTZ, Scale: 9}, tsArr, "struct<epoch: int64, fraction: int32, timezone: int32>", fmt.Sprintf(`{"epoch":%d,"fraction":123456000,"timezone":1440}`, sec)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in()
			defer in.Release()
			got, err := wireColumn(mem, tc.col, in)
			if err != nil {
				t.Fatal(err)
			}
			defer got.Release()
			if got.DataType().String() != tc.want {
				t.Errorf("wire type %s, want %s", got.DataType(), tc.want)
			}
			if v := got.ValueStr(0); v != tc.value {
				t.Errorf("value %s, want %s", v, tc.value)
			}
		})
	}
}
