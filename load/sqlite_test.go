package load

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/internal/sqlitedb"
	"github.com/hoist-dev/hoist/sync/spec"
)

// sqliteTestDB creates dir/dest.db with stmts and returns the destination
// connection (path relative to dir), dir, and a second connection to check
// what readers see.
func sqliteTestDB(t testing.TB, stmts ...string) (*spec.Connection, string, *sql.DB) {
	t.Helper()
	dir := t.TempDir()
	check, err := sql.Open("sqlite", filepath.Join(dir, "dest.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { check.Close() })
	for _, s := range stmts {
		if _, err := check.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	return &spec.Connection{Name: "dest", Type: sqlitedb.Type, Config: &sqlitedb.Config{Path: "dest.db"}}, dir, check
}

// sqliteDump returns a table's rows ordered by its first column, one per line.
func sqliteDump(t testing.TB, db *sql.DB, table string) string {
	t.Helper()
	rows, err := db.Query(fmt.Sprintf("SELECT * FROM %s ORDER BY 1", table))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, strings.TrimSuffix(fmt.Sprintln(vals...), "\n"))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(out, "\n")
}

// sqliteRecord builds a sqliteRecord of schema from Go values (nil for NULL).
func sqliteRecord(t testing.TB, mem memory.Allocator, sch *arrow.Schema, rows ...[]any) arrow.RecordBatch {
	t.Helper()
	b := array.NewRecordBuilder(mem, sch)
	defer b.Release()
	for _, row := range rows {
		for c, v := range row {
			fb := b.Field(c)
			if v == nil {
				fb.AppendNull()
				continue
			}
			switch fb := fb.(type) {
			case *array.Int64Builder:
				fb.Append(int64(v.(int)))
			case *array.Uint64Builder:
				fb.Append(v.(uint64))
			case *array.Float64Builder:
				fb.Append(v.(float64))
			case *array.StringBuilder:
				fb.Append(v.(string))
			case *array.BooleanBuilder:
				fb.Append(v.(bool))
			case *array.BinaryBuilder:
				fb.Append(v.([]byte))
			default:
				t.Fatalf("sqliteRecord: no case for %T", fb)
			}
		}
	}
	return b.NewRecordBatch()
}

var (
	sqliteIDField   = arrow.Field{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true}
	sqliteNameField = arrow.Field{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true}
	sqliteNField    = arrow.Field{Name: "n", Type: arrow.PrimitiveTypes.Int64, Nullable: true}
	sqliteRowSchema = arrow.NewSchema([]arrow.Field{sqliteIDField, sqliteNameField, sqliteNField}, nil)
	sqliteKeySchema = arrow.NewSchema([]arrow.Field{sqliteIDField}, nil)
)

// sqliteOpenWriter opens the destination and a writer for dest.
func sqliteOpenWriter(t testing.TB, conn *spec.Connection, dir string, dest spec.Dest, sch *arrow.Schema) (Destination, Writer) {
	t.Helper()
	d, err := Open(context.Background(), conn, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	w, err := d.Open(context.Background(), Target{Sync: "s", Dest: &dest, Schema: sch})
	if err != nil {
		t.Fatal(err)
	}
	return d, w
}

const sqliteSeed = `CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, n INTEGER);
	INSERT INTO t VALUES (1, 'a', 10), (2, 'b', 20)`

func TestSQLiteDestOps(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup string
		dest  spec.Dest
		op    Op
		sch   *arrow.Schema
		rows  [][]any
		want  string
	}{
		{"append", `CREATE TABLE t (id INTEGER, name TEXT, n INTEGER); INSERT INTO t VALUES (1, 'a', 10)`,
			spec.Dest{Object: "t", Mode: spec.ModeAppend}, OpAppend, sqliteRowSchema,
			[][]any{{1, "a", 10}, {3, "ünï 🚀", nil}}, "1 a 10\n1 a 10\n3 ünï 🚀 <nil>"},
		{"insert keeps existing keys", sqliteSeed, spec.Dest{Object: "t", Mode: spec.ModeInsert, PrimaryKey: []string{"id"}}, OpInsert, sqliteRowSchema,
			[][]any{{2, "B", 99}, {3, "c", 30}}, "1 a 10\n2 b 20\n3 c 30"},
		{"upsert", sqliteSeed, spec.Dest{Object: "t", Mode: spec.ModeUpsert, PrimaryKey: []string{"id"}}, OpUpsert, sqliteRowSchema,
			[][]any{{2, "B", 99}, {3, "c", nil}}, "1 a 10\n2 B 99\n3 c <nil>"},
		{"update ignores missing keys", sqliteSeed, spec.Dest{Object: "t", Mode: spec.ModeUpdate, PrimaryKey: []string{"id"}}, OpUpdate, sqliteRowSchema,
			[][]any{{2, "B", 99}, {4, "x", 1}}, "1 a 10\n2 B 99"},
		{"delete", sqliteSeed, spec.Dest{Object: "t", Mode: spec.ModeMirror, PrimaryKey: []string{"id"}}, OpDelete, sqliteKeySchema,
			[][]any{{1}, {4}}, "2 b 20"},
		{"upsert on a unique index, schema-qualified", `CREATE TABLE t (name TEXT NOT NULL, id INTEGER NOT NULL, n INTEGER);
			CREATE UNIQUE INDEX t_key ON t (id, name); INSERT INTO t VALUES ('a', 1, 10)`,
			spec.Dest{Object: "main.t", Mode: spec.ModeUpsert, PrimaryKey: []string{"name", "id"}}, OpUpsert, sqliteRowSchema,
			[][]any{{1, "a", 11}, {1, "b", 12}}, "a 1 11\nb 1 12"},
		{"mapped columns are a subset, case-insensitive", `CREATE TABLE t (ID INTEGER PRIMARY KEY, Name TEXT, N INTEGER, extra TEXT DEFAULT 'x')`,
			spec.Dest{Object: "t", Mode: spec.ModeUpsert, PrimaryKey: []string{"id"}}, OpUpsert, sqliteRowSchema,
			[][]any{{1, "a", 1}}, "1 a 1 x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			conn, dir, check := sqliteTestDB(t, tt.setup)
			_, w := sqliteOpenWriter(t, conn, dir, tt.dest, sqliteRowSchema)
			if w.Concurrency() != 1 {
				t.Errorf("Concurrency() = %d, want 1", w.Concurrency())
			}
			rec := sqliteRecord(t, mem, tt.sch, tt.rows...)
			defer rec.Release()
			res, err := w.Write(context.Background(), Batch{Op: tt.op, Record: rec})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Failed) != 0 {
				t.Fatalf("failed rows: %+v", res.Failed)
			}
			// Batches are committed as they are written, before Commit.
			if got := sqliteDump(t, check, "t"); got != tt.want {
				t.Errorf("table:\n%s\nwant:\n%s", got, tt.want)
			}
			if err := w.Commit(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestSQLiteDestRowRejection(t *testing.T) {
	t.Parallel()
	const setup = `CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, n INTEGER CHECK (n >= 0)); INSERT INTO t VALUES (9, 'old', 9)`
	for _, mode := range []string{spec.ModeAppend, spec.ModeUpsert, spec.ModeReplace} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			conn, dir, check := sqliteTestDB(t, setup)
			_, w := sqliteOpenWriter(t, conn, dir, spec.Dest{Object: "t", Mode: mode, PrimaryKey: []string{"id"}}, sqliteRowSchema)
			// 600 rows span three multi-row statements; the bad rows sit in
			// the second one, so the first must be undone and redone.
			var rows [][]any
			for i := 0; i < 600; i++ {
				rows = append(rows, []any{100 + i, "ok", i})
			}
			rows[300][2] = -1  // CHECK
			rows[301][1] = nil // NOT NULL
			rec := sqliteRecord(t, mem, sqliteRowSchema, rows...)
			defer rec.Release()
			res, err := w.Write(context.Background(), Batch{Seq: 3, Op: OpFor(mode), Record: rec})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Failed) != 2 || res.Failed[0].Row != 300 || res.Failed[1].Row != 301 ||
				!strings.Contains(res.Failed[0].Msg, "CHECK constraint failed") || !strings.Contains(res.Failed[1].Msg, "NOT NULL constraint failed") {
				t.Fatalf("failed = %+v, want rows 300 (CHECK) and 301 (NOT NULL)", res.Failed)
			}
			if err := w.Commit(context.Background()); err != nil {
				t.Fatal(err)
			}
			var n, bad, old int
			if err := check.QueryRow(`SELECT count(*) FILTER (WHERE id >= 100), count(*) FILTER (WHERE id IN (400, 401)),
				count(*) FILTER (WHERE id = 9) FROM t`).Scan(&n, &bad, &old); err != nil {
				t.Fatal(err)
			}
			if n != 598 || bad != 0 {
				t.Errorf("delivered %d rows (%d rejected ones), want 598 (0)", n, bad)
			}
			if wantOld := map[bool]int{true: 0, false: 1}[mode == spec.ModeReplace]; old != wantOld {
				t.Errorf("old row count %d, want %d", old, wantOld)
			}
		})
	}
}

func TestSQLiteDestValueRejection(t *testing.T) {
	t.Parallel()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	conn, dir, check := sqliteTestDB(t, `CREATE TABLE t (id INTEGER, big INTEGER)`)
	sch := arrow.NewSchema([]arrow.Field{sqliteIDField, {Name: "big", Type: arrow.PrimitiveTypes.Uint64, Nullable: true}}, nil)
	_, w := sqliteOpenWriter(t, conn, dir, spec.Dest{Object: "t", Mode: spec.ModeAppend}, sch)
	rec := sqliteRecord(t, mem, sch, []any{1, uint64(5)}, []any{2, uint64(1 << 63)})
	defer rec.Release()
	res, err := w.Write(context.Background(), Batch{Op: OpAppend, Record: rec})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Failed) != 1 || res.Failed[0].Row != 1 || !strings.Contains(res.Failed[0].Msg, "does not fit") {
		t.Fatalf("failed = %+v", res.Failed)
	}
	if got := sqliteDump(t, check, "t"); got != "1 5" {
		t.Errorf("table = %q", got)
	}
}

func TestSQLiteDestReplaceIsAtomic(t *testing.T) {
	t.Parallel()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	conn, dir, check := sqliteTestDB(t, sqliteSeed)
	ctx := context.Background()
	dest := spec.Dest{Object: "t", Mode: spec.ModeReplace}
	rec := sqliteRecord(t, mem, sqliteRowSchema, []any{7, "new", 70}, []any{8, "newer", 80})
	defer rec.Release()

	// A failed run: Abort leaves the old content whole.
	_, w := sqliteOpenWriter(t, conn, dir, dest, sqliteRowSchema)
	if _, err := w.Write(ctx, Batch{Op: OpAppend, Record: rec}); err != nil {
		t.Fatal(err)
	}
	if got := sqliteDump(t, check, "t"); got != "1 a 10\n2 b 20" {
		t.Errorf("readers saw %q during the replace, want the old content", got)
	}
	if err := w.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	if got := sqliteDump(t, check, "t"); got != "1 a 10\n2 b 20" {
		t.Errorf("after Abort: %q, want the old content", got)
	}

	// A good run: two batches, then Commit swaps the content.
	_, w = sqliteOpenWriter(t, conn, dir, dest, sqliteRowSchema)
	for seq := 0; seq < 2; seq++ {
		one := rec.NewSlice(int64(seq), int64(seq+1))
		_, err := w.Write(ctx, Batch{Seq: seq, Op: OpAppend, Record: one})
		one.Release()
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := sqliteDump(t, check, "t"); got != "1 a 10\n2 b 20" {
		t.Errorf("readers saw %q before Commit, want the old content", got)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := sqliteDump(t, check, "t"); got != "7 new 70\n8 newer 80" {
		t.Errorf("after Commit: %q", got)
	}
	if _, err := w.Write(ctx, Batch{Op: OpAppend, Record: rec}); err == nil {
		t.Error("Write after Commit succeeded")
	}
}

func TestSQLiteDestOpenErrors(t *testing.T) {
	t.Parallel()
	const setup = `CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, n INTEGER);
		CREATE TABLE nokey (id INTEGER, name TEXT, n INTEGER);
		CREATE TABLE partial (id INTEGER, name TEXT, n INTEGER); CREATE UNIQUE INDEX p ON partial (id) WHERE id > 0`
	tests := []struct {
		name string
		dest spec.Dest
		sch  *arrow.Schema
		want string
	}{
		{"missing table", spec.Dest{Object: "nope", Mode: spec.ModeAppend}, sqliteRowSchema, "table nope does not exist"},
		{"missing column", spec.Dest{Object: "t", Mode: spec.ModeAppend},
			arrow.NewSchema([]arrow.Field{sqliteIDField, {Name: "properties.full_name", Type: arrow.BinaryTypes.String}}, nil),
			`table t has no column "properties.full_name"`},
		{"upsert without unique key", spec.Dest{Object: "nokey", Mode: spec.ModeUpsert, PrimaryKey: []string{"id"}}, sqliteRowSchema,
			"table nokey has no PRIMARY KEY or UNIQUE index on (id)"},
		{"partial index is no conflict target", spec.Dest{Object: "partial", Mode: spec.ModeInsert, PrimaryKey: []string{"id"}}, sqliteRowSchema,
			"no PRIMARY KEY or UNIQUE index"},
		{"key on other columns", spec.Dest{Object: "t", Mode: spec.ModeUpsert, PrimaryKey: []string{"name"}}, sqliteRowSchema,
			"no PRIMARY KEY or UNIQUE index on (name)"},
		{"key not mapped", spec.Dest{Object: "t", Mode: spec.ModeUpsert, PrimaryKey: []string{"uid"}}, sqliteRowSchema,
			`primary key "uid" is not a mapped field`},
		{"missing schema", spec.Dest{Object: "other.t", Mode: spec.ModeAppend}, sqliteRowSchema, `unknown database "other"`},
		{"unsupported type", spec.Dest{Object: "t", Mode: spec.ModeAppend},
			arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.FixedWidthTypes.MonthInterval}}, nil), `field "id"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			conn, dir, _ := sqliteTestDB(t, setup)
			d, err := Open(context.Background(), conn, dir)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			for _, dry := range []bool{false, true} {
				dest := tt.dest
				_, err = d.Open(context.Background(), Target{Dest: &dest, Schema: tt.sch, DryRun: dry})
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("dry=%v: err = %v, want it to contain %q", dry, err, tt.want)
				}
			}
		})
	}
}

func TestSQLiteDestDryRunWritesNothing(t *testing.T) {
	t.Parallel()
	conn, dir, check := sqliteTestDB(t, sqliteSeed)
	d, err := Open(context.Background(), conn, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, dest := range []spec.Dest{
		{Object: "t", Mode: spec.ModeReplace},
		{Object: "created", Mode: spec.ModeUpsert, PrimaryKey: []string{"id"}, Config: &connector.SQLDest{CreateTable: true}},
	} {
		w, err := d.Open(context.Background(), Target{Dest: &dest, Schema: sqliteRowSchema, DryRun: true})
		if err != nil {
			t.Fatalf("%s: %v", dest.Object, err)
		}
		if err := w.Commit(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	check.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name = 'created'`).Scan(&n)
	if got := sqliteDump(t, check, "t"); got != "1 a 10\n2 b 20" || n != 0 {
		t.Errorf("dry run changed the database: t = %q, created tables = %d", got, n)
	}
}

func TestSQLiteDestCreatesFileAndTable(t *testing.T) {
	t.Parallel()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dir := t.TempDir()
	conn := &spec.Connection{Name: "dest", Type: sqlitedb.Type, Config: &sqlitedb.Config{Path: "out/sub/new.db"}}
	sch := arrow.NewSchema([]arrow.Field{sqliteIDField, {Name: "properties.full_name", Type: arrow.BinaryTypes.String, Nullable: true}, sqliteNField}, nil)
	_, w := sqliteOpenWriter(t, conn, dir, spec.Dest{Object: "people", Mode: spec.ModeUpsert, PrimaryKey: []string{"id"}, Config: &connector.SQLDest{CreateTable: true}}, sch)
	rec := sqliteRecord(t, mem, sch, []any{1, "Ada", 36}, []any{1, "Ada L.", 37})
	defer rec.Release()
	if _, err := w.Write(context.Background(), Batch{Op: OpUpsert, Record: rec}); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	check, err := sql.Open("sqlite", filepath.Join(dir, "out/sub/new.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer check.Close()
	var ddl, journal string
	check.QueryRow(`SELECT sql FROM sqlite_master WHERE name = 'people'`).Scan(&ddl)
	check.QueryRow(`PRAGMA journal_mode`).Scan(&journal)
	if want := `CREATE TABLE "people" ("id" INTEGER NOT NULL, "properties.full_name" TEXT, "n" INTEGER, PRIMARY KEY ("id"))`; ddl != want {
		t.Errorf("ddl = %s\nwant  %s", ddl, want)
	}
	if journal != "wal" {
		t.Errorf("journal_mode = %s, want wal", journal)
	}
	if got := sqliteDump(t, check, "people"); got != "1 Ada L. 37" {
		t.Errorf("people = %q", got)
	}
}

func TestSQLiteDestCancelledWrite(t *testing.T) {
	t.Parallel()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	conn, dir, check := sqliteTestDB(t, sqliteSeed)
	_, w := sqliteOpenWriter(t, conn, dir, spec.Dest{Object: "t", Mode: spec.ModeUpsert, PrimaryKey: []string{"id"}}, sqliteRowSchema)
	rec := sqliteRecord(t, mem, sqliteRowSchema, []any{3, "c", 30})
	defer rec.Release()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := w.Write(ctx, Batch{Seq: 4, Op: OpUpsert, Record: rec}); err == nil || !strings.Contains(err.Error(), "load batch 4 into t") {
		t.Fatalf("err = %v, want a batch error", err)
	}
	// The writer and its connection are still usable after the failed batch.
	if _, err := w.Write(context.Background(), Batch{Op: OpUpsert, Record: rec}); err != nil {
		t.Fatal(err)
	}
	if got := sqliteDump(t, check, "t"); got != "1 a 10\n2 b 20\n3 c 30" {
		t.Errorf("table = %q", got)
	}
	w.Abort(context.Background())
}
