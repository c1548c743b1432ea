package load_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/internal/mysqlconn"
	"github.com/hoist-dev/hoist/internal/mysqltest"
	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/sync/spec"
)

const myPeopleDDL = `CREATE TABLE people (id BIGINT PRIMARY KEY, name VARCHAR(8) NOT NULL,
	score SMALLINT CHECK (score >= 0), note VARCHAR(10) DEFAULT 'kept')`

// myDest opens the destination as openMySQL does, on a URL that asks for
// a lax sql_mode: the strictness is hoist's own.
func myDest(t *testing.T, db *mysqltest.DB) load.Destination {
	t.Helper()
	pool, err := mysqlconn.Connect(context.Background(), db.URL+"?sql_mode=%27%27", mysqlconn.Options{Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	d := load.NewMySQLDestination(pool)
	t.Cleanup(func() { d.Close() })
	return d
}

func myContents(t *testing.T, db *mysqltest.DB) string {
	t.Helper()
	return strings.Join(db.Strings(t, "SELECT CONCAT(id, ':', name, ':', COALESCE(score, 'NULL')) FROM people ORDER BY id"), " ")
}

func TestIntegrationMySQLOps(t *testing.T) {
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
			db := mysqltest.New(t)
			db.Exec(t, myPeopleDDL, seed)
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			ctx := context.Background()
			w, err := myDest(t, db).Open(ctx, load.Target{Sync: "s",
				Dest: &spec.Dest{Object: "people", Mode: tc.mode, PrimaryKey: []string{"id"}}, Schema: peopleSchema})
			if err != nil {
				t.Fatal(err)
			}
			rec := tc.rec(mem)
			defer rec.Release()
			// twice: the same batch applies once (append, a plain insert,
			// refuses the key the second time), and the second write reuses
			// the session's staging table
			for i := range 2 {
				res, err := w.Write(ctx, load.Batch{Seq: i, Op: tc.op, Record: rec})
				if i == 1 && tc.op == load.OpAppend {
					if rows := failedRows(res); err != nil || !slices.Equal(rows, []int{0}) || !strings.Contains(res.Failed[0].Msg, "Duplicate entry") {
						t.Fatalf("append again: %v %+v", err, res.Failed)
					}
				} else if err != nil || len(res.Failed) != 0 {
					t.Fatalf("write %d: %v %+v", i, err, res.Failed)
				}
				if got := myContents(t, db); got != tc.want {
					t.Errorf("after write %d: table = %q, want %q", i, got, tc.want)
				}
			}
			if err := w.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			// Columns the mapping does not carry keep their value or default.
			if notes := db.Strings(t, "SELECT DISTINCT note FROM people"); len(notes) > 0 && (len(notes) != 1 || notes[0] != "kept") {
				t.Errorf("unmapped column changed: %v", notes)
			}
		})
	}
}

// TestIntegrationMySQLRowRejection: a CHECK, a NOT NULL, a value out of
// range and a string too long reject their rows only, with the server's
// message; the rest of the batch is applied. Strict mode makes them
// errors (not clipped values), also in mode insert.
func TestIntegrationMySQLRowRejection(t *testing.T) {
	for _, mode := range []string{spec.ModeUpsert, spec.ModeInsert, spec.ModeAppend, spec.ModeReplace, spec.ModeUpdate} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			db := mysqltest.New(t)
			db.Exec(t, myPeopleDDL, "INSERT INTO people (id, name, score) VALUES (100, 'old', 1)")
			if mode == spec.ModeUpdate {
				db.Exec(t, "INSERT INTO people (id, name, score) VALUES (1, 'o', 0), (2, 'o', 0), (3, 'o', 0), (4, 'o', 0), (5, 'o', 0), (6, 'o', 0), (7, 'o', 0), (8, 'o', 0)")
			}
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			ctx := context.Background()
			w, err := myDest(t, db).Open(ctx, load.Target{Sync: "s",
				Dest: &spec.Dest{Object: "people", Mode: mode, PrimaryKey: []string{"id"}}, Schema: peopleSchema})
			if err != nil {
				t.Fatal(err)
			}
			rec := people(mem, person{1, "ok", 1}, person{2, "neg", -5}, person{3, "ok3", 3}, person{4, "far too long", 4},
				person{5, "ok5", 5}, person{6, "big", 40000}, person{7, "ok7", 7})
			defer rec.Release()
			b := array.NewRecordBuilder(mem, peopleSchema)
			b.Field(0).(*array.Int64Builder).AppendValues([]int64{8, 9}, nil)
			b.Field(1).(*array.StringBuilder).AppendValues([]string{"", "ok9"}, []bool{false, true})
			b.Field(2).(*array.Int32Builder).AppendValues([]int32{8, 9}, nil)
			rec2 := b.NewRecordBatch()
			b.Release()
			defer rec2.Release()
			op := load.OpFor(mode)
			res, err := w.Write(ctx, load.Batch{Seq: 0, Op: op, Record: rec})
			if err != nil {
				t.Fatal(err)
			}
			if rows := failedRows(res); !slices.Equal(rows, []int{1, 3, 5}) {
				t.Fatalf("failed rows %v (%+v), want [1 3 5]", rows, res.Failed)
			}
			for i, want := range []string{"CONSTRAINT", "Data too long for column `name`", "Out of range value for column `score`"} {
				if msg := res.Failed[i].Msg; !strings.Contains(strings.ReplaceAll(msg, "'", "`"), want) {
					t.Errorf("row %d: message %q, want it to say %q", res.Failed[i].Row, msg, want)
				}
			}
			res, err = w.Write(ctx, load.Batch{Seq: 1, Op: op, Record: rec2})
			if err != nil {
				t.Fatal(err)
			}
			if mode == spec.ModeUpdate {
				// row 1 (key 9) is not held; row 0 is refused, not also not held
				if rows := failedRows(res); !slices.Equal(rows, []int{0}) || !slices.Equal(res.NotHeld, []int{1}) {
					t.Fatalf("failed %+v, not held %v; want row 0 refused and row 1 not held", res.Failed, res.NotHeld)
				}
			} else if rows := failedRows(res); !slices.Equal(rows, []int{0}) || !strings.Contains(res.Failed[0].Msg, "cannot be null") {
				t.Fatalf("failed rows %+v, want row 0 with a not-null violation", res.Failed)
			}
			if err := w.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			want := "1:ok:1 3:ok3:3 5:ok5:5 7:ok7:7 9:ok9:9 100:old:1"
			switch mode {
			case spec.ModeReplace:
				want = "1:ok:1 3:ok3:3 5:ok5:5 7:ok7:7 9:ok9:9"
			case spec.ModeUpdate:
				want = "1:ok:1 2:o:0 3:ok3:3 4:o:0 5:ok5:5 6:o:0 7:ok7:7 8:o:0 100:old:1"
			}
			if got := myContents(t, db); got != want {
				t.Errorf("table = %q, want %q", got, want)
			}
		})
	}
}

// TestIntegrationMySQLRejectLimit: once Batch.Reject says the run is past
// max_rejected, the writer stops splitting and returns the rejections
// found, applying nothing of the batch.
func TestIntegrationMySQLRejectLimit(t *testing.T) {
	db := mysqltest.New(t)
	db.Exec(t, myPeopleDDL)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	w, err := myDest(t, db).Open(ctx, load.Target{Sync: "s", Dest: &spec.Dest{Object: "people", Mode: spec.ModeUpsert, PrimaryKey: []string{"id"}}, Schema: peopleSchema})
	if err != nil {
		t.Fatal(err)
	}
	var ps []person
	for i := int64(0); i < 64; i++ {
		ps = append(ps, person{i, "n", int32(-i)}) // every row but 0 breaks the CHECK
	}
	rec := people(mem, ps...)
	defer rec.Release()
	found := 0
	_, err = w.Write(ctx, load.Batch{Op: load.OpUpsert, Record: rec, Reject: func(n int) bool { found += n; return found > 2 }})
	var limit *load.RejectLimitError
	if !errors.As(err, &limit) || len(limit.Failed) != 3 {
		t.Fatalf("err %v, want a RejectLimitError with 3 rows", err)
	}
	if got := myContents(t, db); got != "" {
		t.Errorf("a batch stopped past max_rejected applied %q", got)
	}
}

// TestIntegrationMySQLUpdateNotHeld: an update batch reports exactly the
// rows whose key the table lacks as NotHeld, for a mapping of nothing but
// the key and when a mapped column is named like the staging columns.
func TestIntegrationMySQLUpdateNotHeld(t *testing.T) {
	seed := "INSERT INTO people (id, name, score) VALUES (1, 'ann', 10), (2, 'bob', 20), (3, 'cy', 30)"
	clash := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "hoist_row", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "hoist_hit", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	cases := []struct {
		name    string
		ddl     []string
		schema  *arrow.Schema
		rec     func(memory.Allocator) arrow.RecordBatch
		notHeld []int
		want    string
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
		{name: "key columns only", schema: keySchema,
			rec:     func(m memory.Allocator) arrow.RecordBatch { return keys(m, 3, 40, 1, 41) },
			notHeld: []int{1, 3}, want: "1:ann:10 2:bob:20 3:cy:30"},
		{name: "columns named like the staging ones", schema: clash,
			ddl: []string{"CREATE TABLE people (id BIGINT PRIMARY KEY, hoist_row TEXT, hoist_hit TEXT)", "INSERT INTO people VALUES (1, 'a', 'x'), (2, 'b', 'y')"},
			rec: func(m memory.Allocator) arrow.RecordBatch {
				b := array.NewRecordBuilder(m, clash)
				defer b.Release()
				b.Field(0).(*array.Int64Builder).AppendValues([]int64{5, 2}, nil)
				b.Field(1).(*array.StringBuilder).AppendValues([]string{"e", "bb"}, nil)
				b.Field(2).(*array.StringBuilder).AppendValues([]string{"f", "yy"}, nil)
				return b.NewRecordBatch()
			},
			notHeld: []int{0}, want: "1:a:x 2:bb:yy", query: "SELECT CONCAT(id, ':', hoist_row, ':', hoist_hit) FROM people ORDER BY id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := mysqltest.New(t)
			if tc.ddl == nil {
				tc.ddl = []string{myPeopleDDL, seed}
			}
			db.Exec(t, tc.ddl...)
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			ctx := context.Background()
			w, err := myDest(t, db).Open(ctx, load.Target{Sync: "s",
				Dest: &spec.Dest{Object: "people", Mode: spec.ModeUpdate, PrimaryKey: []string{"id"}}, Schema: tc.schema})
			if err != nil {
				t.Fatal(err)
			}
			rec := tc.rec(mem)
			defer rec.Release()
			for i := range 2 {
				res, err := w.Write(ctx, load.Batch{Seq: i, Op: load.OpUpdate, Record: rec})
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Failed) != 0 || !slices.Equal(res.NotHeld, tc.notHeld) {
					t.Errorf("write %d: failed %+v, not held %v, want %v", i, res.Failed, res.NotHeld, tc.notHeld)
				}
			}
			if tc.query == "" {
				tc.query = "SELECT CONCAT(id, ':', name, ':', score) FROM people ORDER BY id"
			}
			if got := strings.Join(db.Strings(t, tc.query), " "); got != tc.want {
				t.Errorf("table = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestIntegrationMySQLReplace: until Commit, readers see the old rows;
// Abort keeps them and drops the new table; Commit swaps in the new rows
// at once. A new table left by a run that died is cleared first.
func TestIntegrationMySQLReplace(t *testing.T) {
	db := mysqltest.New(t)
	db.Exec(t, myPeopleDDL, "INSERT INTO people (id, name, score) VALUES (1, 'old', 1), (2, 'old', 2)",
		"CREATE TABLE people__hoist_new LIKE people", "INSERT INTO people__hoist_new (id, name) VALUES (666, 'stale')")
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	dst := myDest(t, db)
	open := func() load.Writer {
		w, err := dst.Open(ctx, load.Target{Sync: "r", Dest: &spec.Dest{Object: "people", Mode: spec.ModeReplace}, Schema: peopleSchema})
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	rec := people(mem, person{10, "new", 10}, person{11, "new", 11})
	defer rec.Release()

	w := open()
	if _, err := w.Write(ctx, load.Batch{Op: load.OpAppend, Record: rec}); err != nil {
		t.Fatal(err)
	}
	if got := myContents(t, db); got != "1:old:1 2:old:2" {
		t.Fatalf("mid-replace a reader sees %q", got)
	}
	if err := w.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	if got := myContents(t, db); got != "1:old:1 2:old:2" {
		t.Fatalf("after abort: %q", got)
	}
	if n := db.Strings(t, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE 'people\\_\\_hoist%'"); n[0] != "0" {
		t.Errorf("abort left %s side tables", n[0])
	}

	w = open()
	for i := 0; i < 3; i++ {
		more := people(mem, person{int64(20 + i), "more", int32(i)})
		_, err := w.Write(ctx, load.Batch{Seq: i, Op: load.OpAppend, Record: more})
		more.Release()
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Write(ctx, load.Batch{Seq: 3, Op: load.OpAppend, Record: rec}); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := myContents(t, db); got != "10:new:10 11:new:11 20:more:0 21:more:1 22:more:2" {
		t.Fatalf("after commit: %q", got)
	}
	if n := db.Strings(t, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE 'people\\_\\_hoist%'"); n[0] != "0" {
		t.Errorf("commit left %s side tables", n[0])
	}
	// the swapped-in table is the target's twin: keys, checks, defaults
	if _, err := db.DB.ExecContext(ctx, "INSERT INTO people (id, name, score) VALUES (10, 'dup', 1)"); err == nil {
		t.Error("the new table has no primary key")
	}
	if got := db.Strings(t, "SELECT note FROM people WHERE id = 10"); got[0] != "kept" {
		t.Errorf("the new table lost the default: %v", got)
	}
}

// TestIntegrationMySQLOpenErrors: problems are found at Open, named; a dry
// run checks but creates and writes nothing.
func TestIntegrationMySQLOpenErrors(t *testing.T) {
	db := mysqltest.New(t)
	db.Exec(t, "CREATE TABLE nokey (id BIGINT, name TEXT, score INT)", "CREATE TABLE typed (id BIGINT PRIMARY KEY, name INT, score INT)",
		"CREATE TABLE gen (id BIGINT PRIMARY KEY, name TEXT, score INT AS (id * 2))")
	ctx := context.Background()
	dst := myDest(t, db)
	cases := []struct {
		object, mode string
		key          []string
		want         string
	}{
		{"missing", spec.ModeUpsert, []string{"id"}, "does not exist"},
		{"nokey", spec.ModeUpsert, []string{"id"}, "no unique index"},
		{"typed", spec.ModeAppend, nil, `column "name": cannot write arrow utf8 into mysql int(11)`},
		{"gen", spec.ModeAppend, nil, `column "score" is generated`},
		{"typed", spec.ModeUpsert, []string{"nonesuch"}, `primary key column "nonesuch" is not among the mapped fields`},
	}
	for _, tc := range cases {
		_, err := dst.Open(ctx, load.Target{Sync: "e", Dest: &spec.Dest{Object: tc.object, Mode: tc.mode, PrimaryKey: tc.key}, Schema: peopleSchema})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to contain %q", tc.object, err, tc.want)
		}
	}
	for _, d := range []spec.Dest{
		{Object: "nokey", Mode: spec.ModeReplace},
		{Object: "made", Mode: spec.ModeUpsert, PrimaryKey: []string{"id"}, Config: &connector.SQLDest{CreateTable: true}},
	} {
		w, err := dst.Open(ctx, load.Target{Sync: "e", Dest: &d, Schema: peopleSchema, DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(ctx, load.Batch{}); err == nil {
			t.Error("dry-run writer accepted a write")
		}
	}
	if got := db.Strings(t, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN ('made', 'nokey__hoist_new')"); got[0] != "0" {
		t.Errorf("a dry run created %s tables", got[0])
	}
}
