package load_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/extract"
	"github.com/hoist-dev/hoist/internal/mysqltest"
	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/sync/spec"
)

// myAllTypes has a column of every type the mysql source reads, with
// edge values, unicode, a 1 MB value, and a row of NULLs.
var myAllTypes = []string{`CREATE TABLE src (
	id INT PRIMARY KEY,
	ti TINYINT, tb TINYINT(1), si SMALLINT, mi MEDIUMINT, i INT, bi BIGINT,
	tiu TINYINT UNSIGNED, siu SMALLINT UNSIGNED, miu MEDIUMINT UNSIGNED, iu INT UNSIGNED, biu BIGINT UNSIGNED,
	d38 DECIMAL(38,10), d10u DECIMAL(10,2) UNSIGNED, d65 DECIMAL(65,30), d0 DECIMAL(5,0),
	f FLOAT, db DOUBLE,
	dt DATE, dtm DATETIME(6), dt0 DATETIME, ts TIMESTAMP(6) NULL, tm TIME(6),
	js JSON, bl LONGBLOB, bn BINARY(3), vb VARBINARY(10),
	ch CHAR(5), vc VARCHAR(20), tx TEXT, lt LONGTEXT, en ENUM('a','b c'), st SET('x','y'),
	b1 BIT(1), b64 BIT(64), yr YEAR)`,
	`INSERT INTO src VALUES
	(1, -128, 1, -32768, -8388608, -2147483648, -9223372036854775808,
	 255, 65535, 16777215, 4294967295, 18446744073709551615,
	 '-9999999999999999999999999999.9999999999', 99999999.99,
	 '12345678901234567890123456789012345.123456789012345678901234567890', -99999,
	 16777217, 1.7976931348623157e308,
	 '1000-01-01', '2024-02-29 12:34:56.789012', '1970-01-01 00:00:00', '2038-01-19 03:14:07.999999', '23:59:59.999999',
	 '{"a": [1, 2.5], "k": "ü"}', UNHEX('000102035C090A0D7F80FEFF'), 'ab', 0x00FF,
	 'ab', 'héllo 🌍', 'tab\tnl\nbs\\ \\N cr\r', REPEAT('x', 1048576), 'b c', 'x,y',
	 b'1', 0xFFFFFFFFFFFFFFFF, 2155),
	(2, 127, 0, 32767, 8388607, 2147483647, 9223372036854775807,
	 0, 0, 0, 0, 0,
	 '1234567890123456789012345678.0123456789', 0.01, -0.000000000000000000000000000001, 0,
	 0.1, 5e-324,
	 '9999-12-31', '9999-12-31 23:59:59.999999', '2000-01-01 00:00:01', '1970-01-01 00:00:01.000001', '00:00:00',
	 '[]', '', UNHEX('000000'), '',
	 '', '', '\\N', CONCAT('日本語', REPEAT('🌍', 300000)), 'a', '',
	 b'0', 0, 1901),
	(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
}

// myDiffering counts the rows of a and b that differ in any column
// (NULL-safe), or are in one only.
func myDiffering(t *testing.T, db *mysqltest.DB, a, b string) string {
	t.Helper()
	cols := db.Strings(t, "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION", a)
	var same []string
	for _, c := range cols {
		same = append(same, fmt.Sprintf("a.`%s` <=> b.`%s`", c, c))
	}
	q := fmt.Sprintf(`SELECT CONCAT((SELECT COUNT(*) FROM %s a JOIN %s b USING (id) WHERE NOT (%s)), '/',
		(SELECT COUNT(*) FROM %s), '/', (SELECT COUNT(*) FROM %s))`, a, b, strings.Join(same, " AND "), a, b)
	return db.Strings(t, q)[0]
}

// TestIntegrationMySQLRoundTripAllTypes: every type read by the mysql
// source and written by the mysql destination comes back equal, into a
// table made LIKE the source and into one create_table made, across batch
// boundaries.
func TestIntegrationMySQLRoundTripAllTypes(t *testing.T) {
	db := mysqltest.New(t)
	db.Exec(t, myAllTypes...)
	db.Exec(t, "CREATE TABLE dst_like LIKE src")
	ctx := context.Background()
	src := extract.NewMySQLSource(db.DB)
	dst := myDest(t, db)
	for _, tc := range []struct {
		batch int
		dest  spec.Dest
	}{
		{1, spec.Dest{Object: "dst_like", Mode: spec.ModeAppend}},
		{2, spec.Dest{Object: "dst_made", Mode: spec.ModeUpsert, PrimaryKey: []string{"id"}, Config: &connector.SQLDest{CreateTable: true}}},
		{100, spec.Dest{Object: "dst_repl", Mode: spec.ModeReplace, Config: &connector.SQLDest{CreateTable: true}}},
	} {
		t.Run(fmt.Sprintf("%s/batch=%d", tc.dest.Object, tc.batch), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			rr, err := src.Read(ctx, extract.Request{Sync: "rt", Source: &spec.Source{Config: &extract.MySQLSource{SQLSource: connector.SQLSource{Table: "src"}}}, BatchRows: tc.batch, Alloc: mem})
			if err != nil {
				t.Fatal(err)
			}
			defer rr.Release()
			d := tc.dest
			w, err := dst.Open(ctx, load.Target{Sync: "rt", Dest: &d, Schema: rr.Schema(), Alloc: mem})
			if err != nil {
				t.Fatal(err)
			}
			seq := 0
			for rr.Next() {
				res, err := w.Write(ctx, load.Batch{Seq: seq, Op: load.OpFor(d.Mode), Record: rr.RecordBatch()})
				if err != nil || len(res.Failed) > 0 {
					t.Fatalf("write batch %d: %v %+v", seq, err, res.Failed)
				}
				seq++
			}
			if err := rr.Err(); err != nil {
				t.Fatal(err)
			}
			if err := w.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			if got := myDiffering(t, db, "src", d.Object); got != "0/3/3" {
				t.Errorf("differing/src/dst rows: %s", got)
			}
		})
	}
	// create_table kept what the source said of the types (MariaDB reports
	// a JSON column as text: it is made LONGTEXT)
	got := db.Strings(t, "SELECT CONCAT(COLUMN_NAME, ' ', COLUMN_TYPE) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'dst_made' AND COLUMN_NAME IN ('d38', 'd65', 'dtm', 'biu', 'js', 'id') ORDER BY ORDINAL_POSITION")
	if s := strings.Join(got, ", "); s != "id int(11), biu bigint(20) unsigned, d38 decimal(38,10), d65 decimal(65,30), dtm datetime(6), js longtext" {
		t.Errorf("created columns: %s", s)
	}
}

// TestIntegrationMySQLEncodeRejects: a value MySQL cannot store (NaN, a
// date past 9999, text the column's character set lacks) rejects its row
// only, with what is wrong; the rest of the batch lands exactly.
func TestIntegrationMySQLEncodeRejects(t *testing.T) {
	db := mysqltest.New(t)
	db.Exec(t, "CREATE TABLE t (id BIGINT PRIMARY KEY, f DOUBLE, d DATE, s VARCHAR(10) CHARACTER SET latin1, n DECIMAL(38,10))")
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "f", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "d", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "n", Type: &arrow.Decimal128Type{Precision: 38, Scale: 10}, Nullable: true},
	}, nil)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	day := func(s string) arrow.Date32 {
		tm, _ := time.Parse(time.DateOnly, s)
		return arrow.Date32FromTime(tm)
	}
	n, _ := decimal128.FromString("-1234567890123456789012345678.0123456789", 38, 10)
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2, 3, 4, 5, 6}, nil)
	b.Field(1).(*array.Float64Builder).AppendValues([]float64{1.5, math.NaN(), 2, 3, math.Inf(-1), 0.1}, nil)
	b.Field(2).(*array.Date32Builder).AppendValues([]arrow.Date32{day("2024-02-29"), 0, arrow.Date32(3000000), 0, 0, day("0001-01-01")}, nil)
	b.Field(3).(*array.StringBuilder).AppendValues([]string{"café", "x", "y", "日本", "z", "ÿ€"}, nil)
	b.Field(4).(*array.Decimal128Builder).AppendValues([]decimal128.Num{n, n, n, n, n, n}, nil)
	rec := b.NewRecordBatch()
	defer rec.Release()
	ctx := context.Background()
	w, err := myDest(t, db).Open(ctx, load.Target{Sync: "s", Dest: &spec.Dest{Object: "t", Mode: spec.ModeUpsert, PrimaryKey: []string{"id"}}, Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	res, err := w.Write(ctx, load.Batch{Op: load.OpUpsert, Record: rec})
	if err != nil {
		t.Fatal(err)
	}
	if rows := failedRows(res); !slices.Equal(rows, []int{1, 2, 3, 4}) {
		t.Fatalf("failed rows %+v, want [1 2 3 4]", res.Failed)
	}
	for i, want := range []string{`column "f": NaN cannot be stored`, `column "d": date in year 10183`, "Incorrect string value", `column "f": -Inf cannot be stored`} {
		if !strings.Contains(res.Failed[i].Msg, want) {
			t.Errorf("row %d: %q, want %q", res.Failed[i].Row, res.Failed[i].Msg, want)
		}
	}
	got := strings.Join(db.Strings(t, "SELECT CONCAT_WS('|', id, f, d, s, HEX(s), n) FROM t ORDER BY id"), " ")
	want := "1|1.5|2024-02-29|café|636166E9|-1234567890123456789012345678.0123456789 6|0.1|0001-01-01|ÿ€|FF80|-1234567890123456789012345678.0123456789"
	if got != want {
		t.Errorf("table = %q, want %q", got, want)
	}
}

// TestIntegrationMySQLTextLoadTraps: numbers land in BIT and YEAR columns
// as numbers. LOAD DATA would read the text "1" into a BIT as the byte
// 0x31, and "0" into a YEAR as 2000, without a warning, so such a table is
// loaded through staging.
func TestIntegrationMySQLTextLoadTraps(t *testing.T) {
	db := mysqltest.New(t)
	for _, tc := range []struct {
		ddl  string
		typ  arrow.DataType
		vals []int64
		want string
	}{
		{"CREATE TABLE traps (id BIGINT PRIMARY KEY, v BIT(16))", arrow.PrimitiveTypes.Uint64, []int64{1, 12, 7}, "1 12 7"},
		{"CREATE TABLE traps (id BIGINT PRIMARY KEY, v YEAR)", arrow.PrimitiveTypes.Int16, []int64{0, 1901, 2155}, "0 1901 2155"},
	} {
		db.Exec(t, "DROP TABLE IF EXISTS traps", tc.ddl)
		schema := arrow.NewSchema([]arrow.Field{
			{Name: "id", Type: arrow.PrimitiveTypes.Int64},
			{Name: "v", Type: tc.typ, Nullable: true},
		}, nil)
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		b := array.NewRecordBuilder(mem, schema)
		b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2, 3}, nil)
		for _, v := range tc.vals {
			switch fb := b.Field(1).(type) {
			case *array.Uint64Builder:
				fb.Append(uint64(v))
			case *array.Int16Builder:
				fb.Append(int16(v))
			}
		}
		rec := b.NewRecordBatch()
		b.Release()
		ctx := context.Background()
		for _, mode := range []string{spec.ModeAppend, spec.ModeUpsert} {
			db.Exec(t, "DELETE FROM traps")
			w, err := myDest(t, db).Open(ctx, load.Target{Sync: "s", Dest: &spec.Dest{Object: "traps", Mode: mode, PrimaryKey: []string{"id"}}, Schema: schema})
			if err != nil {
				t.Fatal(err)
			}
			if res, err := w.Write(ctx, load.Batch{Op: load.OpFor(mode), Record: rec}); err != nil || len(res.Failed) > 0 {
				t.Fatalf("%s: %v %+v", mode, err, res.Failed)
			}
			if got := strings.Join(db.Strings(t, "SELECT CAST(v AS UNSIGNED) FROM traps ORDER BY id"), " "); got != tc.want {
				t.Errorf("%s %s: %s, want %s", tc.ddl, mode, got, tc.want)
			}
		}
		rec.Release()
		mem.AssertSize(t, 0)
	}
}
