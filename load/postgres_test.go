package load_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hoist-dev/hoist/internal/pgtest"
	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/sync/spec"
)

var peopleSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "score", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
}, nil)

var keySchema = arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)

type person struct {
	id    int64
	name  string
	score int32
}

func people(mem memory.Allocator, ps ...person) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, peopleSchema)
	defer b.Release()
	for _, p := range ps {
		b.Field(0).(*array.Int64Builder).Append(p.id)
		b.Field(1).(*array.StringBuilder).Append(p.name)
		b.Field(2).(*array.Int32Builder).Append(p.score)
	}
	return b.NewRecordBatch()
}

func keys(mem memory.Allocator, ids ...int64) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, keySchema)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).AppendValues(ids, nil)
	return b.NewRecordBatch()
}

const peopleDDL = `CREATE TABLE people (id bigint PRIMARY KEY, name text NOT NULL,
	score int CHECK (score >= 0), note text DEFAULT 'kept')`

func contents(t *testing.T, db *pgtest.DB) string {
	t.Helper()
	return strings.Join(db.Strings(t, "SELECT format('%s:%s:%s', id, name, score) FROM people ORDER BY id"), " ")
}

func TestIntegrationPostgresOps(t *testing.T) {
	seed := "INSERT INTO people (id, name, score) VALUES (1, 'ann', 10), (2, 'bob', 20)"
	cases := []struct {
		name string
		mode string
		op   load.Op
		rec  func(memory.Allocator) arrow.RecordBatch
		want string
	}{
		{"upsert updates and inserts", spec.ModeUpsert, load.OpUpsert,
			func(m memory.Allocator) arrow.RecordBatch {
				return people(m, person{2, "bobby", 21}, person{3, "cy", 30})
			},
			"1:ann:10 2:bobby:21 3:cy:30"},
		{"insert ignores existing keys", spec.ModeInsert, load.OpInsert,
			func(m memory.Allocator) arrow.RecordBatch {
				return people(m, person{2, "bobby", 21}, person{3, "cy", 30})
			},
			"1:ann:10 2:bob:20 3:cy:30"},
		{"update touches only existing keys", spec.ModeUpdate, load.OpUpdate,
			func(m memory.Allocator) arrow.RecordBatch {
				return people(m, person{2, "bobby", 21}, person{3, "cy", 30})
			},
			"1:ann:10 2:bobby:21"},
		{"delete removes keys", spec.ModeMirror, load.OpDelete,
			func(m memory.Allocator) arrow.RecordBatch { return keys(m, 1, 99) },
			"2:bob:20"},
		{"append inserts", spec.ModeAppend, load.OpAppend,
			func(m memory.Allocator) arrow.RecordBatch { return people(m, person{5, "eve", 50}) },
			"1:ann:10 2:bob:20 5:eve:50"},
		{"upsert with a duplicate key in one batch keeps the last", spec.ModeUpsert, load.OpUpsert,
			func(m memory.Allocator) arrow.RecordBatch { return people(m, person{7, "a", 1}, person{7, "b", 2}) },
			"1:ann:10 2:bob:20 7:b:2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := pgtest.New(t)
			db.Exec(t, peopleDDL, seed)
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			ctx := context.Background()
			w, err := load.NewPostgresDestination(db.Pool).Open(ctx, load.Target{Sync: "s",
				Dest: &spec.Dest{Object: "people", Mode: tc.mode, PrimaryKey: []string{"id"}}, Schema: peopleSchema})
			if err != nil {
				t.Fatal(err)
			}
			rec := tc.rec(mem)
			defer rec.Release()
			res, err := w.Write(ctx, load.Batch{Op: tc.op, Record: rec})
			if err != nil || len(res.Failed) != 0 {
				t.Fatalf("write: %v %+v", err, res.Failed)
			}
			if err := w.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			if got := contents(t, db); got != tc.want {
				t.Errorf("table = %q, want %q", got, tc.want)
			}
			// Columns the mapping does not carry keep their value or default.
			if notes := db.Strings(t, "SELECT DISTINCT note FROM people"); len(notes) > 0 && (len(notes) != 1 || notes[0] != "kept") {
				t.Errorf("unmapped column changed: %v", notes)
			}
		})
	}
}

// TestIntegrationPostgresRowRejection: a CHECK, a NOT NULL and an invalid
// value reject their rows only; the rest of the batch is applied.
func TestIntegrationPostgresRowRejection(t *testing.T) {
	for _, mode := range []string{spec.ModeUpsert, spec.ModeAppend, spec.ModeReplace} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			db := pgtest.New(t)
			db.Exec(t, peopleDDL, "INSERT INTO people (id, name, score) VALUES (100, 'old', 1)")
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			ctx := context.Background()
			w, err := load.NewPostgresDestination(db.Pool).Open(ctx, load.Target{Sync: "s",
				Dest: &spec.Dest{Object: "people", Mode: mode, PrimaryKey: []string{"id"}}, Schema: peopleSchema})
			if err != nil {
				t.Fatal(err)
			}
			rec := people(mem, person{1, "ok", 1}, person{2, "neg", -5}, person{3, "ok3", 3}, person{4, "neg", -1}, person{5, "ok5", 5})
			defer rec.Release()
			// Row 0 of the second batch has a NULL name (NOT NULL).
			b := array.NewRecordBuilder(mem, peopleSchema)
			b.Field(0).(*array.Int64Builder).AppendValues([]int64{6, 7}, nil)
			b.Field(1).(*array.StringBuilder).AppendValues([]string{"", "ok7"}, []bool{false, true})
			b.Field(2).(*array.Int32Builder).AppendValues([]int32{6, 7}, nil)
			rec2 := b.NewRecordBatch()
			b.Release()
			defer rec2.Release()
			op := load.OpFor(mode)
			res, err := w.Write(ctx, load.Batch{Seq: 0, Op: op, Record: rec})
			if err != nil {
				t.Fatal(err)
			}
			if rows := failedRows(res); !slices.Equal(rows, []int{1, 3}) {
				t.Fatalf("failed rows %v (%+v), want [1 3]", rows, res.Failed)
			}
			if !strings.Contains(res.Failed[0].Msg, "people_score_check") {
				t.Errorf("message %q does not name the constraint", res.Failed[0].Msg)
			}
			res, err = w.Write(ctx, load.Batch{Seq: 1, Op: op, Record: rec2})
			if err != nil {
				t.Fatal(err)
			}
			if rows := failedRows(res); !slices.Equal(rows, []int{0}) || !strings.Contains(res.Failed[0].Msg, "23502") {
				t.Fatalf("failed rows %+v, want row 0 with a not-null violation", res.Failed)
			}
			if err := w.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			want := "1:ok:1 3:ok3:3 5:ok5:5 7:ok7:7"
			if mode != spec.ModeReplace {
				want += " 100:old:1"
			}
			if got := contents(t, db); got != want {
				t.Errorf("table = %q, want %q", got, want)
			}
		})
	}
}

func failedRows(r load.Result) []int {
	var rows []int
	for _, f := range r.Failed {
		rows = append(rows, f.Row)
	}
	return rows
}

// TestIntegrationPostgresReplaceAtomic: until Commit, other sessions see the
// old rows (never an empty or half-filled table); Abort keeps them.
func TestIntegrationPostgresReplaceAtomic(t *testing.T) {
	db := pgtest.New(t)
	db.Exec(t, peopleDDL, "INSERT INTO people (id, name, score) VALUES (1, 'old', 1), (2, 'old', 2)")
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	dst := load.NewPostgresDestination(db.Pool)
	open := func() load.Writer {
		w, err := dst.Open(ctx, load.Target{Sync: "r", Dest: &spec.Dest{Object: "people", Mode: spec.ModeReplace}, Schema: peopleSchema})
		if err != nil {
			t.Fatal(err)
		}
		if w.Concurrency() != 1 {
			t.Fatalf("replace concurrency %d, want 1", w.Concurrency())
		}
		return w
	}
	rec := people(mem, person{10, "new", 10})
	defer rec.Release()

	w := open()
	if _, err := w.Write(ctx, load.Batch{Op: load.OpAppend, Record: rec}); err != nil {
		t.Fatal(err)
	}
	// A reader in another session is not shown the truncated table: it
	// waits for the lock and gives up (lock_timeout) instead.
	var n int
	err := pgxReadWithLockTimeout(ctx, db, &n)
	if err == nil {
		t.Fatalf("reader saw %d rows mid-replace, want it to wait", n)
	}
	if err := w.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	if got := contents(t, db); got != "1:old:1 2:old:2" {
		t.Fatalf("after abort: %q", got)
	}

	w = open()
	for i := 0; i < 3; i++ {
		if _, err := w.Write(ctx, load.Batch{Seq: i, Op: load.OpAppend, Record: rec}); err != nil && i == 0 {
			t.Fatal(err)
		}
	}
	// The duplicate key of batches 1 and 2 was rejected row-wise; the rest holds.
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := contents(t, db); got != "10:new:10" {
		t.Fatalf("after commit: %q", got)
	}
}

func pgxReadWithLockTimeout(ctx context.Context, db *pgtest.DB, n *int) error {
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SET LOCAL lock_timeout = '200ms'"); err != nil {
		return err
	}
	return tx.QueryRow(ctx, "SELECT count(*) FROM people").Scan(n)
}

// TestIntegrationPostgresReconnects: every connection of the writer's pool
// is killed between batches; the next batch retries on a new connection and
// lands exactly once.
func TestIntegrationPostgresReconnects(t *testing.T) {
	db := pgtest.New(t)
	db.Exec(t, peopleDDL)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, db.URL+"&application_name="+db.Schema)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	w, err := load.NewPostgresDestination(pool).Open(ctx, load.Target{Sync: "s",
		Dest: &spec.Dest{Object: "people", Mode: spec.ModeUpsert, PrimaryKey: []string{"id"}}, Schema: peopleSchema})
	if err != nil {
		t.Fatal(err)
	}
	for i := int64(0); i < 3; i++ {
		rec := people(mem, person{i, "n", int32(i)})
		_, err := w.Write(ctx, load.Batch{Seq: int(i), Op: load.OpUpsert, Record: rec})
		rec.Release()
		if err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		killed := db.Strings(t, `SELECT pg_terminate_backend(pid)::text FROM pg_stat_activity
			WHERE application_name = $1`, db.Schema)
		if len(killed) == 0 {
			t.Fatal("no writer connection to kill")
		}
	}
	if got := contents(t, db); got != "0:n:0 1:n:1 2:n:2" {
		t.Fatalf("table = %q", got)
	}
}

// TestIntegrationPostgresOpenErrors: problems are found at Open, named.
func TestIntegrationPostgresOpenErrors(t *testing.T) {
	db := pgtest.New(t)
	db.Exec(t, "CREATE TABLE nokey (id bigint, name text, score int)", "CREATE TABLE typed (id bigint PRIMARY KEY, name int, score int)")
	ctx := context.Background()
	dst := load.NewPostgresDestination(db.Pool)
	cases := []struct {
		object, mode string
		key          []string
		want         string
	}{
		{"missing", spec.ModeUpsert, []string{"id"}, "does not exist"},
		{"nokey", spec.ModeUpsert, []string{"id"}, "no unique index"},
		{"typed", spec.ModeAppend, nil, `column "name": cannot write arrow utf8 into postgres integer`},
	}
	for _, tc := range cases {
		_, err := dst.Open(ctx, load.Target{Sync: "e", Dest: &spec.Dest{Object: tc.object, Mode: tc.mode, PrimaryKey: tc.key}, Schema: peopleSchema})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to contain %q", tc.object, err, tc.want)
		}
	}
	// Dry run checks but writes nothing.
	w, err := dst.Open(ctx, load.Target{Sync: "e", Dest: &spec.Dest{Object: "nokey", Mode: spec.ModeReplace}, Schema: peopleSchema, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(ctx, load.Batch{}); err == nil {
		t.Error("dry-run writer accepted a write")
	}
}
