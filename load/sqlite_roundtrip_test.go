package load_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/extract"
	"github.com/hoist-dev/hoist/internal/sqlitedb"
	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/sync/spec"
)

// This file is an external test package: extract imports load (http), so
// a test inside package load cannot import extract.

// sqliteRTDB creates dir/dest.db with stmts; it returns the connection spec
// and a second handle to check what readers see.
func sqliteRTDB(t *testing.T, stmts ...string) (*spec.Connection, string, *sql.DB) {
	t.Helper()
	dir := t.TempDir()
	db, err := sql.Open("sqlite", filepath.Join(dir, "dest.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	return &spec.Connection{Name: "dest", Type: sqlitedb.Type, Config: &sqlitedb.Config{Path: "dest.db"}}, dir, db
}

func sqliteRTWriter(t *testing.T, conn *spec.Connection, dir string, dest spec.Dest, sch *arrow.Schema) load.Writer {
	t.Helper()
	d, err := load.Open(context.Background(), conn, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	w, err := d.Open(context.Background(), load.Target{Sync: "s", Dest: &dest, Schema: sch})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// sqliteReadAll reads a sqlite table through the extract source and returns its
// schema and rows as Go values; it checks the allocator is empty at the end.
func sqliteReadAll(t *testing.T, conn *spec.Connection, dir, query string, fn func(arrow.RecordBatch)) *arrow.Schema {
	t.Helper()
	ctx := context.Background()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	src, err := extract.Open(ctx, conn, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	rr, err := src.Read(ctx, extract.Request{Alloc: mem, BatchRows: 2, Source: &spec.Source{Config: &connector.SQLSource{Query: query}}})
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	for rr.Next() {
		fn(rr.RecordBatch())
	}
	if err := rr.Err(); err != nil {
		t.Fatal(err)
	}
	return rr.Schema()
}

func sqliteRows(rec arrow.RecordBatch) []string {
	var out []string
	for i := 0; i < int(rec.NumRows()); i++ {
		var row []string
		for c := 0; c < int(rec.NumCols()); c++ {
			row = append(row, fmt.Sprintf("%v", rec.Column(c).GetOneForMarshal(i)))
		}
		out = append(out, strings.Join(row, " | "))
	}
	return out
}

// TestSQLiteRoundTrip reads every SQLite type into Arrow, writes the records
// into a table create_table makes, reads that back, and expects the same
// schema and values, NULLs and unicode included.
func TestSQLiteRoundTrip(t *testing.T) {
	t.Parallel()
	// Source and destination are separate files: a rollback-journal source
	// being read would block the destination switching its file to WAL.
	srcConn, srcDir, _ := sqliteRTDB(t,
		`CREATE TABLE src (id INTEGER PRIMARY KEY, i BIGINT, f REAL, s TEXT, b BLOB, ok BOOLEAN, d DATE,
			ts DATETIME, n NUMERIC(10,2))`,
		`INSERT INTO src VALUES
			(1, 9223372036854775807, -0.125, 'héllo 世界 🚀 "q" ''a''', x'00ff', 1, '1999-12-31', '2024-03-01 10:20:30.123456', 12.5),
			(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
			(3, -1, 1e300, '', x'', 0, '2024-02-29', '1970-01-01T00:00:00Z', '0.001')`,
	)
	conn, dir, _ := sqliteRTDB(t)
	for _, mode := range []string{spec.ModeUpsert, spec.ModeReplace} {
		t.Run(mode, func(t *testing.T) {
			var want []string
			var w load.Writer
			seq := 0
			sch := sqliteReadAll(t, srcConn, srcDir, "SELECT * FROM src", func(rec arrow.RecordBatch) {
				if w == nil {
					w = sqliteRTWriter(t, conn, dir, spec.Dest{Object: "dst_" + mode, Mode: mode, PrimaryKey: []string{"id"}, Config: &connector.SQLDest{CreateTable: true}}, rec.Schema())
				}
				want = append(want, sqliteRows(rec)...)
				res, err := w.Write(context.Background(), load.Batch{Seq: seq, Op: load.OpFor(mode), Record: rec})
				if err != nil || len(res.Failed) > 0 {
					t.Fatalf("write: %v %+v", err, res.Failed)
				}
				seq++
			})
			if err := w.Commit(context.Background()); err != nil {
				t.Fatal(err)
			}
			var got []string
			sch2 := sqliteReadAll(t, conn, dir, "SELECT * FROM dst_"+mode+" ORDER BY id", func(rec arrow.RecordBatch) {
				got = append(got, sqliteRows(rec)...)
			})
			if !sch.Equal(sch2) {
				t.Errorf("schema changed:\n%s\n%s", sch, sch2)
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("round trip:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
			}
			if len(want) != 3 {
				t.Errorf("read %d rows, want 3", len(want))
			}
		})
	}
}

// TestSQLiteStoredForms checks how Arrow types land in SQLite: the text
// forms documented on load's newSQLiteGetter.
func TestSQLiteStoredForms(t *testing.T) {
	t.Parallel()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	sch := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int32},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "America/New_York"}, Nullable: true},
		{Name: "d", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "dec", Type: &arrow.Decimal128Type{Precision: 20, Scale: 4}, Nullable: true},
		{Name: "ok", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
		{Name: "props", Type: arrow.StructOf(arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Int64, Nullable: true}), Nullable: true},
		{Name: "f32", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, sch)
	defer b.Release()
	b.Field(0).(*array.Int32Builder).AppendValues([]int32{1, 2}, nil)
	ts := time.Date(2024, 3, 1, 10, 20, 30, 123456789, time.UTC)
	b.Field(1).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{arrow.Timestamp(ts.UnixNano()), 0}, []bool{true, false})
	b.Field(2).(*array.Date32Builder).AppendValues([]arrow.Date32{arrow.Date32FromTime(ts), 0}, []bool{true, false})
	b.Field(3).(*array.Decimal128Builder).AppendValues([]decimal128.Num{decimal128.FromI64(-1234567), {}}, []bool{true, false})
	b.Field(4).(*array.BooleanBuilder).AppendValues([]bool{true, false}, []bool{true, false})
	lb := b.Field(5).(*array.ListBuilder)
	lb.Append(true)
	lb.ValueBuilder().(*array.StringBuilder).AppendValues([]string{"x", "ü"}, nil)
	lb.AppendNull()
	sb := b.Field(6).(*array.StructBuilder)
	sb.Append(true)
	sb.FieldBuilder(0).(*array.Int64Builder).Append(7)
	sb.AppendNull()
	b.Field(7).(*array.Float32Builder).AppendValues([]float32{0.5, 0}, []bool{true, false})
	rec := b.NewRecordBatch()
	defer rec.Release()

	conn, dir, check := sqliteRTDB(t)
	w := sqliteRTWriter(t, conn, dir, spec.Dest{Object: "forms", Mode: spec.ModeAppend, Config: &connector.SQLDest{CreateTable: true}}, sch)
	if _, err := w.Write(context.Background(), load.Batch{Op: load.OpAppend, Record: rec}); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := `1 2024-03-01T10:20:30.123456Z 2024-03-01 -123.4567 1 ["x","ü"] {"a":7} 0.5
2 <nil> <nil> <nil> <nil> <nil> <nil> <nil>`
	// Concatenation hides the declared types, so the driver returns the raw text.
	var lines []string
	rows, err := check.Query(`SELECT id, ts || '', d || '', dec, ok, tags, props, f32 FROM forms ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		v := make([]any, 8)
		if err := rows.Scan(&v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, strings.TrimSuffix(fmt.Sprintln(v...), "\n"))
	}
	if got := strings.Join(lines, "\n"); got != want {
		t.Errorf("stored:\n%s\nwant:\n%s", got, want)
	}
	var types string
	check.QueryRow(`SELECT group_concat(typeof(ts) || typeof(d) || typeof(dec) || typeof(ok), ',') FROM forms WHERE id = 1`).Scan(&types)
	if types != "texttexttextinteger" {
		t.Errorf("storage classes %s", types)
	}
}
