package sync

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/hoist-dev/hoist/internal/cursor"
	"github.com/hoist-dev/hoist/sync/spec"
)

// extractAfter is the cursor a run or plan extracts past: the committed one,
// moved back by the source's cursor_lookback; nil reads the whole source.
// Only extraction looks back: the diff drops re-read rows already delivered,
// and the committed cursor never moves backwards (cursorTracker.commit).
func (r *Runner) extractAfter(s *spec.Sync, committed *cursor.Cursor) (*cursor.Cursor, error) {
	if s.Source.Cursor == "" || r.readsAll() || committed == nil {
		return nil, nil
	}
	if s.Source.CursorLookback == "" {
		return committed, nil
	}
	d, isDur, err := spec.ParseLookback(s.Source.CursorLookback)
	if err == nil {
		var after *cursor.Cursor
		if after, err = committed.Back(d, isDur, s.Source.CursorLookback); err == nil {
			return after, nil
		}
	}
	return nil, fmt.Errorf("source.cursor_lookback: %w", err)
}

// lessFn returns a typed "row i < row j" for a cursor column; NULLs sort
// first. The fast paths avoid formatting every value as text.
func lessFn(arr arrow.Array) func(i, j int) bool {
	nullLess := func(i, j int) (bool, bool) {
		ni, nj := arr.IsNull(i), arr.IsNull(j)
		if ni || nj {
			return ni && !nj, true
		}
		return false, false
	}
	switch a := arr.(type) {
	case *array.Int64:
		return func(i, j int) bool {
			if l, ok := nullLess(i, j); ok {
				return l
			}
			return a.Value(i) < a.Value(j)
		}
	case *array.Int32:
		return func(i, j int) bool {
			if l, ok := nullLess(i, j); ok {
				return l
			}
			return a.Value(i) < a.Value(j)
		}
	case *array.Timestamp:
		return func(i, j int) bool {
			if l, ok := nullLess(i, j); ok {
				return l
			}
			return a.Value(i) < a.Value(j)
		}
	case *array.Date32:
		return func(i, j int) bool {
			if l, ok := nullLess(i, j); ok {
				return l
			}
			return a.Value(i) < a.Value(j)
		}
	case *array.Float64:
		return func(i, j int) bool {
			if l, ok := nullLess(i, j); ok {
				return l
			}
			return a.Value(i) < a.Value(j)
		}
	case *array.String:
		return func(i, j int) bool {
			if l, ok := nullLess(i, j); ok {
				return l
			}
			return a.Value(i) < a.Value(j)
		}
	}
	return func(i, j int) bool {
		if l, ok := nullLess(i, j); ok {
			return l
		}
		ci, _, _ := cursor.At(arr, i)
		cj, _, _ := cursor.At(arr, j)
		c, _ := ci.Compare(&cj)
		return c < 0
	}
}

// afterFn returns "row i's cursor > after" for a column, parsing after once.
// A NULL cursor counts as after: a row is never skipped for lack of a value.
func afterFn(arr arrow.Array, after *cursor.Cursor) (func(i int) bool, error) {
	kind, err := cursor.KindOf(arr.DataType())
	if err != nil {
		return nil, err
	}
	if kind != after.Kind {
		return nil, fmt.Errorf("cursor column type changed from %s to %s since the last run (run `hoist state reset`)", after.Kind, kind)
	}
	switch a := arr.(type) {
	case *array.Int64:
		v, err := strconv.ParseInt(after.Value, 10, 64)
		if err != nil {
			return nil, err
		}
		return func(i int) bool { return a.IsNull(i) || a.Value(i) > v }, nil
	case *array.Timestamp:
		t, err := time.Parse(time.RFC3339Nano, after.Value)
		if err != nil {
			return nil, err
		}
		unit := a.DataType().(*arrow.TimestampType).Unit
		return func(i int) bool { return a.IsNull(i) || a.Value(i).ToTime(unit).After(t) }, nil
	case *array.String:
		return func(i int) bool { return a.IsNull(i) || strings.Compare(a.Value(i), after.Value) > 0 }, nil
	}
	return func(i int) bool {
		c, ok, err := cursor.At(arr, i)
		if err != nil || !ok {
			return true
		}
		r, err := c.Compare(after)
		return err != nil || r > 0
	}, nil
}

// cursorTracker keeps the cursor bounds of one run: the largest value read,
// the smallest value not acknowledged, and the largest acknowledged value
// below it. The run commits a cursor that never passes an unacknowledged row.
type cursorTracker struct {
	maxRead     *cursor.Cursor
	minUnacked  *cursor.Cursor
	ackedValues []cursor.Cursor // the max of each acknowledged batch (and rows)
	ordered     bool
	lastRead    *cursor.Cursor
}

func newCursorTracker() *cursorTracker { return &cursorTracker{ordered: true} }

// extreme returns the row index of the smallest (max=false) or largest
// non-NULL value among rows (nil: all rows), or -1.
func extreme(arr arrow.Array, rows []int, max bool) int {
	less := lessFn(arr)
	best := -1
	visit := func(i int) {
		if arr.IsNull(i) {
			return
		}
		if best < 0 || (max && less(best, i)) || (!max && less(i, best)) {
			best = i
		}
	}
	if rows == nil {
		for i := 0; i < arr.Len(); i++ {
			visit(i)
		}
	} else {
		for _, i := range rows {
			visit(i)
		}
	}
	return best
}

func cursorOf(arr arrow.Array, i int) *cursor.Cursor {
	if i < 0 {
		return nil
	}
	c, ok, err := cursor.At(arr, i)
	if err != nil || !ok {
		return nil
	}
	return &c
}

func larger(a, b *cursor.Cursor) *cursor.Cursor {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	if c, err := a.Compare(b); err == nil && c < 0 {
		return b
	}
	return a
}

func smaller(a, b *cursor.Cursor) *cursor.Cursor {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	if c, err := a.Compare(b); err == nil && c > 0 {
		return b
	}
	return a
}

// read notes an extracted record's cursor column.
func (t *cursorTracker) read(arr arrow.Array) {
	if arr.Len() == 0 {
		return
	}
	if t.ordered {
		less := lessFn(arr)
		for i := 1; i < arr.Len(); i++ {
			if less(i, i-1) {
				t.ordered = false
				break
			}
		}
		if first := cursorOf(arr, 0); t.lastRead != nil && first != nil {
			if c, err := first.Compare(t.lastRead); err != nil || c < 0 {
				t.ordered = false
			}
		}
		if last := cursorOf(arr, arr.Len()-1); last != nil {
			t.lastRead = last
		}
	}
	t.maxRead = larger(t.maxRead, cursorOf(arr, extreme(arr, nil, true)))
}

// maxAckedValues bounds the acknowledged values kept for the commit rule.
// Dropping the smallest can only make the committed cursor lower (more rows
// re-sent after a failure), never skip a row, so memory stays flat however
// many batches a run has.
const maxAckedValues = 4096

// acked notes rows of a batch that were delivered (rows nil: all of them).
func (t *cursorTracker) acked(arr arrow.Array, rows []int) {
	if c := cursorOf(arr, extreme(arr, rows, true)); c != nil {
		t.ackedValues = append(t.ackedValues, *c)
	}
	if len(t.ackedValues) > 2*maxAckedValues {
		t.compact()
	}
}

// compact keeps the largest maxAckedValues acknowledged values below the
// smallest unacknowledged one; values at or above it can never be the
// committed cursor, since that bound only falls.
func (t *cursorTracker) compact() {
	kept := t.ackedValues[:0]
	for _, v := range t.ackedValues {
		if t.minUnacked != nil {
			if c, err := v.Compare(t.minUnacked); err != nil || c >= 0 {
				continue
			}
		}
		kept = append(kept, v)
	}
	slices.SortFunc(kept, func(a, b cursor.Cursor) int {
		c, _ := b.Compare(&a) // descending
		return c
	})
	t.ackedValues = kept[:min(len(kept), maxAckedValues)]
}

// unacked notes rows that were not delivered (rows nil: all of them).
func (t *cursorTracker) unacked(arr arrow.Array, rows []int) {
	t.minUnacked = smaller(t.minUnacked, cursorOf(arr, extreme(arr, rows, false)))
}

// unackedValue notes one undelivered row's cursor.
func (t *cursorTracker) unackedValue(c *cursor.Cursor) { t.minUnacked = smaller(t.minUnacked, c) }

// commit returns the cursor to commit. complete says every extracted row was
// handed to the destination and answered; before is the previous cursor.
func (t *cursorTracker) commit(before *cursor.Cursor, complete bool) *cursor.Cursor {
	bound := t.minUnacked
	if !complete {
		if !t.ordered {
			// Rows not yet read may have any cursor value: do not move.
			return before
		}
		// Rows not yet read come at or after the last one read.
		bound = smaller(bound, t.lastRead)
	}
	if bound == nil {
		return larger(before, t.maxRead)
	}
	var best *cursor.Cursor
	for i := range t.ackedValues {
		v := &t.ackedValues[i]
		if c, err := v.Compare(bound); err == nil && c < 0 {
			best = larger(best, v)
		}
	}
	return larger(before, best)
}
