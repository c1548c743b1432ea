package load

import (
	"context"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/sync/spec"
)

// TestSQLiteDestUpdateNotHeld (issue 10, item 7): an update batch reports
// exactly the rows whose key the table lacks as NotHeld, also when a
// rejected row makes the writer redo the batch row by row (the first pass's
// answers are rolled back with it), and for a mapping of nothing but the key.
func TestSQLiteDestUpdateNotHeld(t *testing.T) {
	t.Parallel()
	const setup = `CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, n INTEGER CHECK (n >= 0));
		INSERT INTO t VALUES (1, 'a', 10), (2, 'b', 20), (3, 'c', 30)`
	tests := []struct {
		name    string
		sch     *arrow.Schema
		rows    [][]any
		notHeld []int
		failed  []int
		want    string
	}{
		{"some keys absent", sqliteRowSchema, [][]any{{9, "x", 1}, {2, "B", 21}, {7, "y", 2}, {1, "A", 11}},
			[]int{0, 2}, nil, "1 A 11\n2 B 21\n3 c 30"},
		{"every key held", sqliteRowSchema, [][]any{{3, "C", 31}, {1, "A", 11}},
			nil, nil, "1 A 11\n2 b 20\n3 C 31"},
		{"no key held", sqliteRowSchema, [][]any{{4, "d", 4}, {5, "e", 5}},
			[]int{0, 1}, nil, "1 a 10\n2 b 20\n3 c 30"},
		{"row by row after a rejected row", sqliteRowSchema, [][]any{{2, "B", 21}, {8, "h", 8}, {3, "C", -3}, {6, "f", 6}, {1, "A", 11}},
			[]int{1, 3}, []int{2}, "1 A 11\n2 B 21\n3 c 30"},
		{"key columns only", sqliteKeySchema, [][]any{{3}, {40}, {1}, {41}},
			[]int{1, 3}, nil, "1 a 10\n2 b 20\n3 c 30"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			conn, dir, check := sqliteTestDB(t, setup)
			_, w := sqliteOpenWriter(t, conn, dir, spec.Dest{Object: "t", Mode: spec.ModeUpdate, PrimaryKey: []string{"id"}}, tt.sch)
			rec := sqliteRecord(t, mem, tt.sch, tt.rows...)
			defer rec.Release()
			res, err := w.Write(context.Background(), Batch{Op: OpUpdate, Record: rec})
			if err != nil {
				t.Fatal(err)
			}
			var failed []int
			for _, f := range res.Failed {
				failed = append(failed, f.Row)
			}
			if !slices.Equal(failed, tt.failed) {
				t.Errorf("failed rows %v (%+v), want %v", failed, res.Failed, tt.failed)
			}
			if !slices.Equal(res.NotHeld, tt.notHeld) {
				t.Errorf("not held %v, want %v", res.NotHeld, tt.notHeld)
			}
			if err := w.Commit(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := sqliteDump(t, check, "t"); got != tt.want {
				t.Errorf("table:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}
