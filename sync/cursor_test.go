package sync

import (
	"slices"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/internal/cursor"
)

func int64Col(t *testing.T, vals ...int64) *array.Int64 {
	t.Helper()
	b := array.NewInt64Builder(memory.DefaultAllocator)
	defer b.Release()
	b.AppendValues(vals, nil)
	return b.NewInt64Array()
}

// TestCursorTrackerBoundedAndSafe: with many batches the tracker keeps a
// bounded number of values, and the committed cursor stays below every
// unacknowledged row.
func TestCursorTrackerBoundedAndSafe(t *testing.T) {
	tr := newCursorTracker()
	const n = 50_000 // batches of one row, cursor = row number
	all := make([]int64, n)
	for i := range all {
		all[i] = int64(i + 1)
	}
	col := int64Col(t, all...)
	defer col.Release()
	tr.read(col)
	for i := 0; i < n; i++ {
		one := array.NewSlice(col, int64(i), int64(i+1))
		if i+1 == 30_000 || i+1 == 40_000 {
			tr.unacked(one, nil)
		} else {
			tr.acked(one, nil)
		}
		one.Release()
	}
	if len(tr.ackedValues) > 2*maxAckedValues {
		t.Fatalf("tracker holds %d values", len(tr.ackedValues))
	}
	got := tr.commit(nil, true)
	if got == nil || got.Value != strconv.Itoa(29_999) {
		t.Fatalf("cursor %v, want 29999 (the largest acknowledged below the first undelivered row)", got)
	}
	// after a failure on a source not ordered by the cursor, it must not move
	unordered := newCursorTracker()
	rev := int64Col(t, 3, 1, 2)
	defer rev.Release()
	unordered.read(rev)
	unordered.acked(rev, nil)
	before := &cursor.Cursor{Kind: cursor.Int, Value: "0"}
	if got := unordered.commit(before, false); got != before {
		t.Fatalf("unordered incomplete run moved the cursor to %v", got)
	}
}

func TestAcksBitset(t *testing.T) {
	a := newAcks()
	set := []int{0, 63, 64, 127, 1000}
	for _, s := range set {
		a.setDone(s)
	}
	a.rejected[64] = map[int]bool{2: true}
	for seq := 0; seq <= 1100; seq++ {
		want := slices.Contains(set, seq)
		if a.isDone(seq) != want {
			t.Fatalf("isDone(%d) = %v, want %v", seq, !want, want)
		}
	}
	if !a.delivered(64, 1) || a.delivered(64, 2) || a.delivered(65, 0) {
		t.Fatal("delivered ignores rejections or unanswered batches")
	}
}
