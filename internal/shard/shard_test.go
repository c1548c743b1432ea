package shard

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

var update = flag.Bool("update", false, "rewrite the golden SQL files")

func TestParse(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want Spec
		err  string
	}{
		{in: "0/4", want: Spec{0, 4}},
		{in: " 3/4 ", want: Spec{3, 4}},
		{in: "0/1", want: Spec{0, 1}},
		{in: "4/4", err: "the index must be 0 … 3"},
		{in: "-1/4", err: "the index must be 0 … 3"},
		{in: "1/0", err: "want at least 1"},
		{in: "1", err: "want I/N"},
		{in: "a/4", err: "whole numbers"},
	} {
		got, err := Parse(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Parse(%q) = %v, %v; want error with %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Parse(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

// TestHash pins the hash to md5's first four bytes: PostgreSQL's
// ('x' || substr(md5('abc'), 1, 8))::bit(32)::bigint and MySQL's
// CONV(SUBSTRING(MD5('abc'), 1, 8), 16, 10) both give 2416005272.
func TestHash(t *testing.T) {
	t.Parallel()
	if got := Hash([]byte("abc")); got != 2416005272 {
		t.Fatalf("Hash(abc) = %d, want 2416005272", got)
	}
	if got := Of([]byte("abc"), 4); got != 2416005272%4 {
		t.Fatalf("Of(abc, 4) = %d", got)
	}
	// every key in exactly one shard, and the shards about even
	counts := make([]int, 4)
	for i := range 4000 {
		text := AppendKeyText(nil, []arrow.Array{int64s(int64(i))}, 0)
		held := 0
		for s := range 4 {
			if (Spec{s, 4}).Holds(text) {
				held++
				counts[s]++
			}
		}
		if held != 1 {
			t.Fatalf("key %d held by %d shards", i, held)
		}
	}
	for s, n := range counts {
		if n < 800 || n > 1200 {
			t.Errorf("shard %d holds %d of 4000 keys", s, n)
		}
	}
	if !(Spec{}).Holds([]byte("x")) || !(Spec{0, 1}).Holds([]byte("x")) {
		t.Error("an unsharded spec must hold every key")
	}
}

func int64s(vs ...int64) arrow.Array {
	b := array.NewInt64Builder(memory.DefaultAllocator)
	defer b.Release()
	b.AppendValues(vs, nil)
	return b.NewArray()
}

func TestAppendKeyText(t *testing.T) {
	t.Parallel()
	ib := array.NewInt32Builder(memory.DefaultAllocator)
	ib.AppendValues([]int32{-7, 0}, []bool{true, false})
	ints := ib.NewArray()
	sb := array.NewStringBuilder(memory.DefaultAllocator)
	sb.AppendValues([]string{"a b", "é"}, nil)
	strs := sb.NewArray()
	defer ints.Release()
	defer strs.Release()
	cols := []arrow.Array{ints, strs}
	for i, want := range []string{"-7\x1fa b", "\x1fé"} {
		if got := string(AppendKeyText(nil, cols, i)); got != want {
			t.Errorf("row %d: %q, want %q", i, got, want)
		}
	}
	if !Pushable(arrow.PrimitiveTypes.Int64) || !Pushable(arrow.BinaryTypes.String) || Pushable(arrow.FixedWidthTypes.Timestamp_us) {
		t.Error("Pushable: integers and strings only")
	}
}

// TestSQLGolden pins each dialect's predicate (go test -update rewrites).
func TestSQLGolden(t *testing.T) {
	t.Parallel()
	for _, d := range []struct {
		name string
		fn   func([]string, Spec) string
		cols [][]string
	}{
		{"postgres", Postgres, [][]string{{`q."id"`}, {`q."org"`, `q."id"`}}},
		{"mysql", MySQL, [][]string{{"_hoist.`id`"}, {"_hoist.`org`", "_hoist.`id`"}}},
		{"snowflake", Snowflake, [][]string{{`"ID"`}, {`"ORG"`, `"ID"`}}},
	} {
		var b strings.Builder
		for _, cols := range d.cols {
			b.WriteString(d.fn(cols, Spec{1, 4}) + "\n")
		}
		path := filepath.Join("testdata", d.name+".golden")
		if *update {
			if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if b.String() != string(want) {
			t.Errorf("%s:\n%s\nwant:\n%s", d.name, b.String(), want)
		}
	}
}
