package diff

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/sync/state"
)

func testRecord(t testing.TB, mem memory.Allocator) arrow.Record {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "ok", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
		{Name: "day", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "amount", Type: &arrow.Decimal128Type{Precision: 38, Scale: 2}, Nullable: true},
		{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
		{Name: "blob", Type: arrow.BinaryTypes.Binary, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2, 3}, nil)
	b.Field(1).(*array.StringBuilder).AppendValues([]string{"ann", "", "ünï"}, []bool{true, false, true})
	b.Field(2).(*array.Float64Builder).AppendValues([]float64{1.5, math.NaN(), math.Inf(-1)}, nil)
	b.Field(3).(*array.BooleanBuilder).AppendValues([]bool{true, false, true}, []bool{true, true, false})
	b.Field(4).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{0, 253402300799000000, -1}, nil)
	b.Field(5).(*array.Date32Builder).AppendValues([]arrow.Date32{0, 20000, -1}, nil)
	b.Field(6).(*array.Decimal128Builder).AppendValues([]decimal128.Num{decimal128.FromI64(12345), decimal128.FromI64(-1), decimal128.FromI64(0)}, nil)
	lb := b.Field(7).(*array.ListBuilder)
	vb := lb.ValueBuilder().(*array.StringBuilder)
	lb.Append(true)
	vb.Append("a")
	vb.Append("b")
	lb.Append(true) // empty list
	lb.AppendNull()
	b.Field(8).(*array.BinaryBuilder).AppendValues([][]byte{{0, 1}, nil, {}}, []bool{true, false, true})
	return b.NewRecord()
}

// TestRowRoundTrip: every type encodes, decodes into Arrow and re-encodes to
// the same bytes; equal rows encode equal.
func TestRowRoundTrip(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := testRecord(t, mem)
	defer rec.Release()
	enc := NewRowEncoder(rec)
	rb := array.NewRecordBuilder(mem, rec.Schema())
	defer rb.Release()
	var rows [][]byte
	for i := 0; i < int(rec.NumRows()); i++ {
		row := enc.Append(nil, i)
		rows = append(rows, row)
		if err := AppendRow(rb, row); err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
		if _, err := DecodeRow(row); err != nil {
			t.Fatalf("decode row %d: %v", i, err)
		}
	}
	back := rb.NewRecord()
	defer back.Release()
	enc2 := NewRowEncoder(back)
	for i, want := range rows {
		if got := enc2.Append(nil, i); !bytes.Equal(got, want) {
			t.Fatalf("row %d re-encodes differently", i)
		}
	}
	fields, _ := DecodeRow(rows[0])
	got := fmt.Sprint(fields)
	want := "[{amount 123.45} {blob AAE=} {day 1970-01-01} {id 1} {name ann} {ok true} {score 1.5} {tags [a b]} {ts 1970-01-01T00:00:00Z}]"
	if got != want {
		t.Fatalf("decoded row 0:\n got %s\nwant %s", got, want)
	}
}

func TestSorterSpillsAndMerges(t *testing.T) {
	s := NewSorter(t.TempDir(), 256) // tiny: forces many runs
	n := 2000
	for i := 0; i < n; i++ {
		k := fmt.Sprintf("k%05d", (i*7919)%n)
		if err := s.Add([]byte(k), []byte(fmt.Sprintf("row%d", i)), []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if s.Spilled() < 10 {
		t.Fatalf("spilled %d runs, want many", s.Spilled())
	}
	it, err := s.Iter()
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var prev []byte
	count := 0
	for it.Next() {
		if prev != nil && bytes.Compare(prev, it.Key()) >= 0 {
			t.Fatalf("out of order: %s after %s", it.Key(), prev)
		}
		prev = append(prev[:0], it.Key()...)
		count++
	}
	if it.Err() != nil || count != n {
		t.Fatalf("got %d entries, err %v", count, it.Err())
	}
}

func merge(t *testing.T, ex [][2]string, snap []state.Entry, opt MergeOptions) ([]string, error) {
	s := NewSorter(t.TempDir(), 64)
	for _, e := range ex {
		s.Add([]byte(e[0]), []byte(e[1]), nil)
	}
	it, err := s.Iter()
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var out []string
	err = Merge(it, &state.SliceIterator{Entries: snap}, opt, func(e Event) error {
		out = append(out, fmt.Sprintf("%s:%s:%s", e.Kind, e.Key, e.New))
		return nil
	})
	return out, err
}

func TestMerge(t *testing.T) {
	snap := []state.Entry{{Key: []byte("a"), Row: []byte("1")}, {Key: []byte("b"), Row: []byte("2")}, {Key: []byte("d"), Row: []byte("4")}}
	got, err := merge(t, [][2]string{{"c", "3"}, {"a", "1"}, {"b", "X"}}, snap, MergeOptions{Removes: true})
	if err != nil {
		t.Fatal(err)
	}
	want := "[unchanged:a:1 change:b:X add:c:3 remove:d:]"
	if fmt.Sprint(got) != want {
		t.Fatalf("got %v want %s", got, want)
	}
	// without Removes (a cursor run) absent keys are not deletions
	got, _ = merge(t, [][2]string{{"a", "1"}}, snap, MergeOptions{})
	if fmt.Sprint(got) != "[unchanged:a:1]" {
		t.Fatalf("incremental merge: %v", got)
	}
	// duplicates: an error naming the key, or the last one wins
	_, err = merge(t, [][2]string{{"a", "1"}, {"a", "2"}}, nil, MergeOptions{})
	var dup *DuplicateKeyError
	if !errors.As(err, &dup) {
		t.Fatalf("want duplicate key error, got %v", err)
	}
	got, err = merge(t, [][2]string{{"a", "1"}, {"b", "9"}, {"a", "2"}}, nil, MergeOptions{LastWins: true})
	if err != nil || fmt.Sprint(got) != "[add:a:2 add:b:9]" {
		t.Fatalf("last wins: %v %v", got, err)
	}
}

func TestKeyEncoding(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := testRecord(t, mem)
	defer rec.Release()
	cols := []arrow.Array{rec.Column(0), rec.Column(1)}
	k, err := AppendKey(nil, cols, 0)
	if err != nil || KeyString(k) != "(1, ann)" {
		t.Fatalf("key %q %v", KeyString(k), err)
	}
	if _, err := AppendKey(nil, cols, 1); err == nil {
		t.Fatal("NULL key must fail")
	}
}
