package extract

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/internal/cursor"
	"github.com/hoist-dev/hoist/internal/sqlitedb"
	"github.com/hoist-dev/hoist/sync/spec"
)

// sqliteFixture creates a database file in a temp dir, runs stmts in it and
// returns the connection spec (with a path relative to dir) and dir.
func sqliteFixture(t *testing.T, stmts ...string) (*spec.Connection, string) {
	t.Helper()
	dir := t.TempDir()
	db, err := sql.Open("sqlite", filepath.Join(dir, "src.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	return &spec.Connection{Name: "src", Type: sqlitedb.Type, Config: &sqlitedb.Config{Path: "src.db"}}, dir
}

// readSQLite reads every record of req and returns the rows as Go values
// (via GetOneForMarshal) with the schema, checking no buffer leaks.
func readSQLite(t *testing.T, conn *spec.Connection, dir string, req Request) (*arrow.Schema, [][]any, []int) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	req.Alloc = mem
	ctx := context.Background()
	src, err := Open(ctx, conn, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	rr, err := src.Read(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	var rows [][]any
	var sizes []int
	for rr.Next() {
		rec := rr.RecordBatch()
		if !rec.Schema().Equal(rr.Schema()) {
			t.Fatalf("record schema %s differs from reader schema %s", rec.Schema(), rr.Schema())
		}
		sizes = append(sizes, int(rec.NumRows()))
		for i := 0; i < int(rec.NumRows()); i++ {
			row := make([]any, rec.NumCols())
			for c := range row {
				row[c] = rec.Column(c).GetOneForMarshal(i)
			}
			rows = append(rows, row)
		}
	}
	if err := rr.Err(); err != nil {
		t.Fatal(err)
	}
	return rr.Schema(), rows, sizes
}

func TestSQLiteSourceTypes(t *testing.T) {
	t.Parallel()
	conn, dir := sqliteFixture(t,
		`CREATE TABLE "all types" (id INTEGER PRIMARY KEY, i BIGINT, f DOUBLE PRECISION, s TEXT, v VARCHAR(20),
			b BLOB, ok BOOLEAN, d DATE, ts DATETIME, ts2 TIMESTAMP, n NUMERIC(10,2), dec DECIMAL(20,4), u NVARCHAR(5))`,
		`INSERT INTO "all types" VALUES (1, -9007199254740993, 2.5, 'héllo 世界 🚀', 'x"y', x'00ff10', 1, '2024-03-01',
			'2024-03-01T10:20:30.123456Z', '2024-03-01 10:20:30', 12.5, '1234.5678', 'ünï')`,
		`INSERT INTO "all types" (id) VALUES (2)`,
		`INSERT INTO "all types" (id, ok, ts, ts2, d) VALUES (3, 'false', '2024-03-01T12:20:30+02:00', 1709288430, '2024-03-01 23:59:59')`,
	)
	sch, rows, _ := readSQLite(t, conn, dir, Request{Source: &spec.Source{Config: &connector.SQLSource{Table: "all types"}}})
	wantTypes := []arrow.DataType{
		arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Float64,
		arrow.BinaryTypes.String, arrow.BinaryTypes.String, arrow.BinaryTypes.Binary, arrow.FixedWidthTypes.Boolean,
		arrow.FixedWidthTypes.Date32, &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"},
		&arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, arrow.BinaryTypes.String,
		arrow.BinaryTypes.String, arrow.BinaryTypes.String,
	}
	for i, want := range wantTypes {
		if got := sch.Field(i).Type; !arrow.TypeEqual(got, want) {
			t.Errorf("column %s: type %s, want %s", sch.Field(i).Name, got, want)
		}
	}
	if len(rows) != 3 {
		t.Fatalf("got %d rows, want 3", len(rows))
	}
	want1 := fmt.Sprint([]any{int64(1), int64(-9007199254740993), 2.5, "héllo 世界 🚀", `x"y`, []byte{0, 0xff, 0x10}, true,
		"2024-03-01", "2024-03-01T10:20:30.123456Z", "2024-03-01T10:20:30Z", "12.5", "1234.5678", "ünï"})
	if got := fmt.Sprint(rows[0]); got != want1 {
		t.Errorf("row 1:\n got %s\nwant %s", got, want1)
	}
	for c := 1; c < len(rows[1]); c++ {
		if rows[1][c] != nil {
			t.Errorf("row 2 column %s = %v, want NULL", sch.Field(c).Name, rows[1][c])
		}
	}
	// Offsets convert to UTC, an INTEGER in a DATETIME column is Unix
	// seconds, and a DATE column drops the time of day.
	for c, want := range map[int]any{6: false, 7: "2024-03-01", 8: "2024-03-01T10:20:30Z", 9: "2024-03-01T10:20:30Z"} {
		if got := rows[2][c]; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("row 3 column %s = %v, want %v", sch.Field(c).Name, got, want)
		}
	}
}

func TestSQLiteSourceInfersExpressionTypes(t *testing.T) {
	t.Parallel()
	conn, dir := sqliteFixture(t,
		`CREATE TABLE t (id INTEGER, name TEXT)`,
		`INSERT INTO t VALUES (1, NULL), (2, 'b'), (3, 'c')`,
	)
	// The first rows of "late" are NULL, so inference must read ahead and
	// still emit those rows.
	sch, rows, sizes := readSQLite(t, conn, dir, Request{BatchRows: 2, Source: &spec.Source{Config: &connector.SQLSource{Query: `SELECT id * 2 AS doubled, id / 2.0 AS half, upper(name) AS late, NULL AS none_, x'01' AS blob FROM t ORDER BY id;`}}})
	want := []arrow.DataType{arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Float64, arrow.BinaryTypes.String,
		arrow.BinaryTypes.String, arrow.BinaryTypes.Binary}
	for i, w := range want {
		if !arrow.TypeEqual(sch.Field(i).Type, w) {
			t.Errorf("column %s: type %s, want %s", sch.Field(i).Name, sch.Field(i).Type, w)
		}
	}
	if fmt.Sprint(sizes) != "[2 1]" {
		t.Errorf("record sizes %v, want [2 1]", sizes)
	}
	if got := fmt.Sprint(rows); got != "[[2 0.5 <nil> <nil> [1]] [4 1 B <nil> [1]] [6 1.5 C <nil> [1]]]" {
		t.Errorf("rows = %s", got)
	}
}

func TestSQLiteSourceBadValue(t *testing.T) {
	t.Parallel()
	conn, dir := sqliteFixture(t,
		`CREATE TABLE t (id INTEGER, n INTEGER)`,
		`INSERT INTO t VALUES (1, 5), (2, 'five')`,
	)
	src, err := Open(context.Background(), conn, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rr, err := src.Read(context.Background(), Request{Alloc: mem, Source: &spec.Source{Config: &connector.SQLSource{Table: "t"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	for rr.Next() {
	}
	if err := rr.Err(); err == nil || !strings.Contains(err.Error(), `row 2 column "n"`) || !strings.Contains(err.Error(), `"five" is not an integer`) {
		t.Fatalf("err = %v, want it to name row 2, column n and the value", err)
	}
}

func TestSQLiteSourceBatchesStayBounded(t *testing.T) {
	t.Parallel()
	conn, dir := sqliteFixture(t,
		`CREATE TABLE t (id INTEGER PRIMARY KEY, pad TEXT)`,
		`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 1000) INSERT INTO t SELECT i, hex(randomblob(8)) FROM n`,
	)
	_, rows, sizes := readSQLite(t, conn, dir, Request{BatchRows: 300, Source: &spec.Source{Config: &connector.SQLSource{Table: "main.t"}}})
	if fmt.Sprint(sizes) != "[300 300 300 100]" {
		t.Errorf("record sizes %v, want [300 300 300 100]", sizes)
	}
	if len(rows) != 1000 || rows[999][0] != int64(1000) {
		t.Errorf("got %d rows, last %v", len(rows), rows[len(rows)-1])
	}
}

func TestSQLiteSourceCursorPushdown(t *testing.T) {
	t.Parallel()
	conn, dir := sqliteFixture(t,
		`CREATE TABLE ev (id INTEGER, name TEXT COLLATE NOCASE, at DATETIME, day DATE, score REAL)`,
		// Inserted out of order: the pushed-down query must order by the cursor.
		`INSERT INTO ev VALUES
			(5, 'c',  1704103200,                   '2024-01-05', 5.5),
			(2, 'a',  '2024-01-01T09:00:00.500000Z', '2024-01-02 00:00:00', 2.5),
			(1, 'B',  '2024-01-01 09:00:00',         '2024-01-01', 1.5),
			(4, 'd',  '2024-01-01 10:00:00',         '2024-01-03', 4.5),
			(3, 'A',  '2024-01-01T10:30:00+02:00',   '2024-01-02', 3.5),
			(6, NULL, NULL,                          NULL,         NULL)`,
	)
	tests := []struct {
		name   string
		cursor string
		after  cursor.Cursor
		want   string // ids in the order read
		sorted bool   // compare as a set (mixed storage classes order by class)
	}{
		{"int", "id", cursor.Cursor{Kind: cursor.Int, Value: "3"}, "[4 5 6]", false},
		{"float", "score", cursor.Cursor{Kind: cursor.Float, Value: "2.5"}, "[3 4 5]", false},
		// Byte order, as the pipeline compares, although the column is NOCASE:
		// 'a' (0x61) and later are past 'B' (0x42); 'A' is not.
		{"string nocase column", "name", cursor.Cursor{Kind: cursor.String, Value: "B"}, "[2 5 4]", false},
		// 09:00:00.2Z: row 2 (09:00:00.5) and row 4 ("10:00:00", which a plain
		// text compare against "2024-01-01T…" would lose) and row 5 (Unix
		// seconds for 10:00Z) are past it; row 3 is 08:30Z.
		{"timestamp mixed formats", "at", cursor.Cursor{Kind: cursor.Timestamp, Value: "2024-01-01T09:00:00.2Z"}, "[2 4 5]", true},
		{"timestamp same millisecond", "at", cursor.Cursor{Kind: cursor.Timestamp, Value: "2024-01-01T09:00:00.5Z"}, "[2 4 5]", true},
		{"date", "day", cursor.Cursor{Kind: cursor.Date, Value: "2024-01-02"}, "[4 5]", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			after := tt.after
			_, rows, _ := readSQLite(t, conn, dir, Request{After: &after, Source: &spec.Source{Cursor: tt.cursor, Config: &connector.SQLSource{Table: "ev"}}})
			ids := make([]int64, len(rows))
			for i, r := range rows {
				ids[i] = r[0].(int64)
			}
			if tt.sorted {
				sqliteSortInts(ids)
			}
			if got := fmt.Sprint(ids); got != tt.want {
				t.Errorf("ids %s, want %s", got, tt.want)
			}
		})
	}
}

func sqliteSortInts(s []int64) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func TestSQLiteSourceCancelMidRead(t *testing.T) {
	t.Parallel()
	conn, dir := sqliteFixture(t,
		`CREATE TABLE t (id INTEGER PRIMARY KEY)`,
		`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 50000) INSERT INTO t SELECT i FROM n`,
	)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src, err := Open(ctx, conn, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	rr, err := src.Read(ctx, Request{Alloc: mem, BatchRows: 100, Source: &spec.Source{Config: &connector.SQLSource{Table: "t"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	if !rr.Next() {
		t.Fatalf("first batch: %v", rr.Err())
	}
	cancel()
	batches := 1
	for rr.Next() {
		batches++
	}
	if !errors.Is(rr.Err(), context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", rr.Err())
	}
	if batches > 2 {
		t.Errorf("read %d batches after cancel, want it to stop at once", batches)
	}
}

func TestSQLiteSourceErrors(t *testing.T) {
	t.Parallel()
	conn, dir := sqliteFixture(t, `CREATE TABLE t (id INTEGER)`)
	tests := []struct {
		name string
		conn spec.Connection
		src  spec.Source
		want string
	}{
		{"missing file", spec.Connection{Name: "x", Type: sqlitedb.Type, Config: &sqlitedb.Config{Path: "nope.db"}}, spec.Source{Config: &connector.SQLSource{Table: "t"}}, "nope.db does not exist"},
		{"missing table", *conn, spec.Source{Config: &connector.SQLSource{Table: "missing"}}, "no such table: missing"},
		{"bad query", *conn, spec.Source{Config: &connector.SQLSource{Query: "SELEC 1"}}, "syntax error"},
		{"missing cursor column", *conn, spec.Source{Cursor: "updated_at", Config: &connector.SQLSource{Table: "t"}}, "no such column"},
		{"write attempt", *conn, spec.Source{Config: &connector.SQLSource{Query: "DELETE FROM t RETURNING id"}}, "readonly"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			src, err := Open(ctx, &tt.conn, dir)
			if err == nil {
				defer src.Close()
				var rr array.RecordReader
				req := Request{Source: &tt.src}
				if tt.src.Cursor != "" {
					req.After = &cursor.Cursor{Kind: cursor.Int, Value: "1"}
				}
				rr, err = src.Read(ctx, req)
				if err == nil {
					for rr.Next() {
					}
					err = rr.Err()
					rr.Release()
				}
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestSQLiteSourceTimeFormatsParse(t *testing.T) {
	t.Parallel()
	conn, dir := sqliteFixture(t,
		`CREATE TABLE t (id INTEGER, ts TIMESTAMP)`,
		`INSERT INTO t VALUES (1, '2024-05-06 07:08'), (2, '2024-05-06T07:08:09.1234567'), (3, 2460436.79733796),
			(4, '2024-05-06 07:08:09.123-01:30'), (5, '2024-05-06')`,
	)
	_, rows, _ := readSQLite(t, conn, dir, Request{Source: &spec.Source{Config: &connector.SQLSource{Query: "SELECT ts FROM t ORDER BY id"}}})
	want := []string{"2024-05-06T07:08:00Z", "2024-05-06T07:08:09.123456Z", "2024-05-06T07:08:09Z",
		"2024-05-06T08:38:09.123Z", "2024-05-06T00:00:00Z"}
	for i, w := range want {
		got := fmt.Sprint(rows[i][0])
		if i == 2 { // a julian day REAL is only good to a few microseconds
			got = got[:len("2024-05-06T07:08:09")] + "Z"
		}
		if got != w {
			t.Errorf("row %d: %s, want %s", i+1, got, w)
		}
	}
}
