package load_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/internal/pgtest"
	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/sync/spec"
)

// TestIntegrationPostgresUpdateNotHeld (issue 10, item 7): an update batch
// reports exactly the rows whose key the table lacks as NotHeld, on the
// one-statement path, on the row-by-row path a rejected row forces, for a
// mapping of nothing but the key, and when a mapped column is named like
// the staging table's row number.
func TestIntegrationPostgresUpdateNotHeld(t *testing.T) {
	seed := "INSERT INTO people (id, name, score) VALUES (1, 'ann', 10), (2, 'bob', 20), (3, 'cy', 30)"
	clash := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "hoist_row", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	cases := []struct {
		name    string
		ddl     []string
		schema  *arrow.Schema
		rec     func(memory.Allocator) arrow.RecordBatch
		notHeld []int
		failed  []int
		want    string // the table after the batch
		query   string
	}{
		{name: "some keys absent", schema: peopleSchema,
			rec: func(m memory.Allocator) arrow.RecordBatch {
				return people(m, person{9, "new", 9}, person{2, "bobby", 21}, person{7, "x", 7}, person{1, "anne", 11})
			},
			notHeld: []int{0, 2}, want: "1:anne:11 2:bobby:21 3:cy:30"},
		{name: "every key held", schema: peopleSchema,
			rec: func(m memory.Allocator) arrow.RecordBatch {
				return people(m, person{3, "cyd", 31}, person{1, "anne", 11})
			},
			want: "1:anne:11 2:bob:20 3:cyd:31"},
		{name: "no key held", schema: peopleSchema,
			rec: func(m memory.Allocator) arrow.RecordBatch {
				return people(m, person{4, "d", 4}, person{5, "e", 5})
			},
			notHeld: []int{0, 1}, want: "1:ann:10 2:bob:20 3:cy:30"},
		{name: "row by row after a rejected row", schema: peopleSchema,
			rec: func(m memory.Allocator) arrow.RecordBatch {
				return people(m, person{2, "bobby", 21}, person{8, "h", 8}, person{3, "neg", -3}, person{6, "f", 6}, person{1, "anne", 11})
			},
			notHeld: []int{1, 3}, failed: []int{2}, want: "1:anne:11 2:bobby:21 3:cy:30"},
		{name: "key columns only", schema: keySchema,
			rec:     func(m memory.Allocator) arrow.RecordBatch { return keys(m, 3, 40, 1, 41) },
			notHeld: []int{1, 3}, want: "1:ann:10 2:bob:20 3:cy:30"},
		{name: "a column named hoist_row", schema: clash,
			ddl: []string{"CREATE TABLE people (id bigint PRIMARY KEY, hoist_row text)", "INSERT INTO people VALUES (1, 'a'), (2, 'b')"},
			rec: func(m memory.Allocator) arrow.RecordBatch {
				b := array.NewRecordBuilder(m, clash)
				defer b.Release()
				b.Field(0).(*array.Int64Builder).AppendValues([]int64{5, 2}, nil)
				b.Field(1).(*array.StringBuilder).AppendValues([]string{"e", "bb"}, nil)
				return b.NewRecordBatch()
			},
			notHeld: []int{0}, want: "1:a 2:bb", query: "SELECT format('%s:%s', id, hoist_row) FROM people ORDER BY id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := pgtest.New(t)
			if tc.ddl == nil {
				tc.ddl = []string{peopleDDL, seed}
			}
			db.Exec(t, tc.ddl...)
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			ctx := context.Background()
			w, err := load.NewPostgresDestination(db.Pool).Open(ctx, load.Target{Sync: "s",
				Dest: &spec.Dest{Object: "people", Mode: spec.ModeUpdate, PrimaryKey: []string{"id"}}, Schema: tc.schema})
			if err != nil {
				t.Fatal(err)
			}
			rec := tc.rec(mem)
			defer rec.Release()
			// twice: the second write reuses the session's staging table
			for i := range 2 {
				res, err := w.Write(ctx, load.Batch{Seq: i, Op: load.OpUpdate, Record: rec})
				if err != nil {
					t.Fatal(err)
				}
				if got := failedRows(res); !slices.Equal(got, tc.failed) {
					t.Errorf("write %d: failed rows %v, want %v", i, got, tc.failed)
				}
				if !slices.Equal(res.NotHeld, tc.notHeld) {
					t.Errorf("write %d: not held %v, want %v", i, res.NotHeld, tc.notHeld)
				}
			}
			if err := w.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			if tc.query == "" {
				tc.query = "SELECT format('%s:%s:%s', id, name, score) FROM people ORDER BY id"
			}
			got := strings.Join(db.Strings(t, tc.query), " ")
			if got != tc.want {
				t.Errorf("table = %q, want %q", got, tc.want)
			}
		})
	}
}
