package loadtest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// valueText is the text a value is compared by. It is the same for one
// value in any Arrow type that can hold it exactly (an int8 read back as
// an int64, a uint64 as a decimal(20,0), a decimal kept as its text), and
// differs for any other value: floats print the shortest text that reads
// back as the same float64, timestamps the UTC instant to the nanosecond,
// binary its bytes in hex.
func valueText(arr arrow.Array, i int) (string, bool) {
	if arr.IsNull(i) {
		return "", true
	}
	switch a := arr.(type) {
	case *array.Int8:
		return strconv.FormatInt(int64(a.Value(i)), 10), false
	case *array.Int16:
		return strconv.FormatInt(int64(a.Value(i)), 10), false
	case *array.Int32:
		return strconv.FormatInt(int64(a.Value(i)), 10), false
	case *array.Int64:
		return strconv.FormatInt(a.Value(i), 10), false
	case *array.Uint8:
		return strconv.FormatUint(uint64(a.Value(i)), 10), false
	case *array.Uint16:
		return strconv.FormatUint(uint64(a.Value(i)), 10), false
	case *array.Uint32:
		return strconv.FormatUint(uint64(a.Value(i)), 10), false
	case *array.Uint64:
		return strconv.FormatUint(a.Value(i), 10), false
	case *array.Float16:
		return floatText(float64(a.Value(i).Float32())), false
	case *array.Float32:
		return floatText(float64(a.Value(i))), false
	case *array.Float64:
		return floatText(a.Value(i)), false
	case *array.Boolean:
		return strconv.FormatBool(a.Value(i)), false
	case *array.String:
		return a.Value(i), false
	case *array.LargeString:
		return a.Value(i), false
	case *array.StringView:
		return a.Value(i), false
	case *array.Binary:
		return "0x" + hex.EncodeToString(a.Value(i)), false
	case *array.LargeBinary:
		return "0x" + hex.EncodeToString(a.Value(i)), false
	case *array.BinaryView:
		return "0x" + hex.EncodeToString(a.Value(i)), false
	case *array.FixedSizeBinary:
		return "0x" + hex.EncodeToString(a.Value(i)), false
	case *array.Date32:
		return a.Value(i).ToTime().Format(time.DateOnly), false
	case *array.Date64:
		return a.Value(i).ToTime().Format(time.DateOnly), false
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return a.Value(i).ToTime(unit).UTC().Format(time.RFC3339Nano), false
	case *array.Decimal128:
		return a.Value(i).ToString(a.DataType().(*arrow.Decimal128Type).Scale), false
	case *array.Decimal256:
		return a.Value(i).ToString(a.DataType().(*arrow.Decimal256Type).Scale), false
	case *array.Dictionary:
		return valueText(a.Dictionary(), a.GetValueIndex(i))
	case array.ExtensionArray:
		return valueText(a.Storage(), i)
	}
	return arr.DataType().String() + ":" + arr.ValueStr(i), false
}

func floatText(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// cellText is how a value shows in a row's text: quoted, NULL bare, and a
// long value as its length and hash (still exact, but readable in a diff).
func cellText(arr arrow.Array, i int) string {
	s, null := valueText(arr, i)
	if null {
		return "NULL"
	}
	if len(s) > 120 {
		sum := sha256.Sum256([]byte(s))
		head := s[:32]
		for len(head) > 0 && !utf8Start(s[len(head)]) {
			head = head[:len(head)-1]
		}
		return fmt.Sprintf("%q…(%d bytes, sha256 %x)", head, len(s), sum[:8])
	}
	return strconv.Quote(s)
}

func utf8Start(b byte) bool { return b&0xc0 != 0x80 }

// rowTexts renders every row of recs with the columns of schema, matched by
// name (case-insensitively, as SQL folds names).
func rowTexts(t *testing.T, what string, schema *arrow.Schema, recs []arrow.RecordBatch) []string {
	t.Helper()
	var out []string
	for _, rec := range recs {
		cols := make([]arrow.Array, schema.NumFields())
		for c, f := range schema.Fields() {
			for j, g := range rec.Schema().Fields() {
				if strings.EqualFold(f.Name, g.Name) {
					cols[c] = rec.Column(j)
					break
				}
			}
			if cols[c] == nil {
				t.Fatalf("%s: read back without column %q (columns %v)", what, f.Name, fieldNames(rec.Schema()))
			}
		}
		for i := range int(rec.NumRows()) {
			cells := make([]string, len(cols))
			for c, col := range cols {
				cells[c] = cellText(col, i)
			}
			out = append(out, "("+strings.Join(cells, ", ")+")")
		}
	}
	slices.Sort(out)
	return out
}

func fieldNames(s *arrow.Schema) []string {
	out := make([]string, 0, s.NumFields())
	for _, f := range s.Fields() {
		out = append(out, f.Name)
	}
	return out
}

// content reads object back through the harness, as sorted row texts.
func (s *suite) content(t *testing.T, object string, schema *arrow.Schema) []string {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	recs := s.h.Read(t, object, schema, mem)
	rows := rowTexts(t, "object "+object, schema, recs)
	for _, r := range recs {
		r.Release()
	}
	if n := mem.CurrentAlloc(); n != 0 {
		t.Errorf("object %s: reading it back leaked %d bytes of Arrow buffers", object, n)
	}
	return rows
}

// expect fails the check unless object holds exactly want (in any order).
func (s *suite) expect(t *testing.T, object, when string, schema *arrow.Schema, want ...row) {
	t.Helper()
	mem := memory.NewGoAllocator()
	rec := record(t, mem, schema, want)
	wantText := rowTexts(t, "expected rows", schema, []arrow.RecordBatch{rec})
	rec.Release()
	got := s.content(t, object, schema)
	if slices.Equal(got, wantText) {
		return
	}
	missing, extra := multisetDiff(wantText, got)
	t.Errorf("object %s %s: content differs\n  missing:    %s\n  unexpected: %s\n  want: %s\n  got:  %s",
		object, when, listText(missing), listText(extra), listText(wantText), listText(got))
}

// multisetDiff returns the rows of want not in got and of got not in
// want, counting duplicates.
func multisetDiff(want, got []string) (missing, extra []string) {
	count := map[string]int{}
	for _, r := range got {
		count[r]++
	}
	for _, r := range want {
		if count[r] > 0 {
			count[r]--
			continue
		}
		missing = append(missing, r)
	}
	for _, r := range got {
		if count[r] > 0 {
			count[r]--
			extra = append(extra, r)
		}
	}
	return missing, extra
}

func listText(rows []string) string {
	if len(rows) == 0 {
		return "(none)"
	}
	const most = 12
	if len(rows) > most {
		return strings.Join(rows[:most], " ") + fmt.Sprintf(" … and %d more", len(rows)-most)
	}
	return strings.Join(rows, " ")
}
