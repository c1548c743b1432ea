package load

import (
	"bufio"
	"bytes"
	"math"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestMyEscape(t *testing.T) {
	in := []byte("a\tb\nc\\d\x00e\rf\x01\xff\\N")
	want := `a\tb\nc\\d\0e\rf` + "\x01\xff" + `\\N`
	if got := string(myEscape(nil, in)); got != want {
		t.Errorf("escape = %q, want %q", got, want)
	}
	if got := string(myEscape([]byte("x"), "plain")); got != "xplain" {
		t.Errorf("escape = %q", got)
	}
}

func TestMyDatesAndTimes(t *testing.T) {
	for _, s := range []string{"0001-01-01", "1969-12-31", "1970-01-01", "2000-02-29", "2024-03-01", "9999-12-31"} {
		tm, _ := time.Parse(time.DateOnly, s)
		got, err := myAppendDate(nil, tm.Unix()/86400-boolInt(tm.Unix() < 0 && tm.Unix()%86400 != 0))
		if err != nil || string(got) != s {
			t.Errorf("date %s: %q %v", s, got, err)
		}
	}
	for _, us := range []int64{0, -1, 1, 951825600500000, -62135596800000000, 253402300799999999} {
		got, err := myAppendDateTime(nil, us)
		want := time.UnixMicro(us).UTC().Format("2006-01-02 15:04:05.000000")
		if err != nil || string(got) != want {
			t.Errorf("datetime %d: %q %v, want %s", us, got, err, want)
		}
	}
	for _, us := range []int64{-62135596800000001, 253402300800000000} {
		if _, err := myAppendDateTime(nil, us); err == nil {
			t.Errorf("datetime %d accepted", us)
		}
	}
	if got, err := myAppendClock(nil, 86399999999); err != nil || string(got) != "23:59:59.999999" {
		t.Errorf("clock: %q %v", got, err)
	}
	if _, err := myAppendClock(nil, 86400e6); err == nil {
		t.Error("24:00:00 accepted")
	}
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// TestMyRowWriter: a record becomes LOAD DATA lines, NULL as \N, each
// ending with its row index; a row with an unstorable value is left out.
func TestMyRowWriter(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "f", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
		{Name: "d", Type: &arrow.Decimal128Type{Precision: 38, Scale: 10}, Nullable: true},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Nanosecond}, Nullable: true},
		{Name: "b", Type: arrow.BinaryTypes.Binary, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	d, _ := decimal128.FromString("-0.0000000001", 38, 10)
	b.Field(0).(*array.StringBuilder).AppendValues([]string{"x\ty", "", "z"}, []bool{true, false, true})
	b.Field(1).(*array.Float32Builder).AppendValues([]float32{0.1, 1, float32(math.NaN())}, nil)
	b.Field(2).(*array.Decimal128Builder).AppendValues([]decimal128.Num{d, d, d}, nil)
	b.Field(3).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{1999, -1, 0}, nil)
	b.Field(4).(*array.BinaryBuilder).AppendValues([][]byte{{0, '\n'}, nil, {}}, []bool{true, false, true})
	rec := b.NewRecordBatch()
	defer rec.Release()
	encs := make([]myEncoder, rec.NumCols())
	for i, f := range schema.Fields() {
		e, err := myEncoderFor(f.Type)
		if err != nil {
			t.Fatal(err)
		}
		encs[i] = e
	}
	var out bytes.Buffer
	bw := bufio.NewWriter(&out)
	sent, bad, err := newMyRowWriter(rec, encs, true).writeAll(bw, int(rec.NumRows()))
	if err != nil {
		t.Fatal(err)
	}
	want := "x\\ty\t0.10000000149011612\t-0.0000000001\t1970-01-01 00:00:00.000001\t\\0\\n\t0\n" +
		"\\N\t1\t-0.0000000001\t1969-12-31 23:59:59.999999\t\\N\t1\n"
	if out.String() != want {
		t.Errorf("lines\n%q\nwant\n%q", out.String(), want)
	}
	if len(sent) != 2 || len(bad) != 1 || bad[0].Row != 2 || bad[0].Msg != `column "f": NaN cannot be stored in MySQL (no NaN or infinity)` {
		t.Errorf("sent %v bad %+v", sent, bad)
	}
	if _, err := myEncoderFor(arrow.ListOf(arrow.PrimitiveTypes.Int32)); err == nil {
		t.Error("a list has a text form")
	}
}
