package extract_test

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/extract"
	"github.com/hoist-dev/hoist/internal/cursor"
	"github.com/hoist-dev/hoist/internal/mysqltest"
	"github.com/hoist-dev/hoist/sync/spec"
)

// mysqlAllTypesDDL has a column of every type the mysql source reads.
const mysqlAllTypesDDL = `CREATE TABLE alltypes (
	id INT PRIMARY KEY,
	ti TINYINT, tb TINYINT(1), si SMALLINT, mi MEDIUMINT, i INT, bi BIGINT,
	tiu TINYINT UNSIGNED, siu SMALLINT UNSIGNED, miu MEDIUMINT UNSIGNED, iu INT UNSIGNED, biu BIGINT UNSIGNED,
	d38 DECIMAL(38,10), d10u DECIMAL(10,2) UNSIGNED, d65 DECIMAL(65,30), d0 DECIMAL(5,0),
	f FLOAT, db DOUBLE,
	dt DATE, dtm DATETIME(6), dt0 DATETIME, ts TIMESTAMP(6) NULL, tm TIME(6),
	js JSON, bl BLOB, bn BINARY(3), vb VARBINARY(10),
	ch CHAR(5), vc VARCHAR(20), tx TEXT, lt LONGTEXT, en ENUM('a','b c'), st SET('x','y'),
	b1 BIT(1), b64 BIT(64), yr YEAR)`

const mysqlAllTypesRows = `INSERT INTO alltypes VALUES
	(1, -128, 1, -32768, -8388608, -2147483648, -9223372036854775808,
	 255, 65535, 16777215, 4294967295, 18446744073709551615,
	 '-9999999999999999999999999999.9999999999', 99999999.99,
	 '12345678901234567890123456789012345.123456789012345678901234567890', -99999,
	 16777217, 1.7976931348623157e308,
	 '1000-01-01', '2024-02-29 12:34:56.789012', '1970-01-01 00:00:00', '2038-01-19 03:14:07.999999', '23:59:59.999999',
	 '{"a": [1, 2.5], "k": "ü"}', UNHEX('000102037F80FEFF'), 'ab', 0x00FF,
	 'ab', 'héllo 🌍', 'tab\tnl\nbs\\', REPEAT('x', 1048576), 'b c', 'x,y',
	 b'1', 0xFFFFFFFFFFFFFFFF, 2155),
	(2, 127, 0, 32767, 8388607, 2147483647, 9223372036854775807,
	 0, 0, 0, 0, 0,
	 '1234567890123456789012345678.0123456789', 0.01, -0.000000000000000000000000000001, 0,
	 0.1, 5e-324,
	 '9999-12-31', '9999-12-31 23:59:59.999999', '2000-01-01 00:00:01', '1970-01-01 00:00:01.000001', '00:00:00',
	 '[]', '', UNHEX('000000'), '',
	 '', '', '', '日本語', 'a', '',
	 b'0', 0, 1901),
	(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`

// cell renders a value exactly: decimals with their scale, floats in the
// shortest form that reads back to the same bits, times in RFC 3339 with
// microseconds, bytes in hex.
func cell(arr arrow.Array, i int) string {
	if arr.IsNull(i) {
		return "NULL"
	}
	switch a := arr.(type) {
	case *array.Decimal128:
		return a.Value(i).ToString(a.DataType().(*arrow.Decimal128Type).Scale)
	case *array.Float32:
		return strconv.FormatFloat(float64(a.Value(i)), 'g', -1, 32)
	case *array.Float64:
		return strconv.FormatFloat(a.Value(i), 'g', -1, 64)
	case *array.Timestamp:
		return a.Value(i).ToTime(arrow.Microsecond).UTC().Format("2006-01-02T15:04:05.000000Z07:00")
	case *array.Date32:
		return a.Value(i).FormattedString()
	case *array.Time64:
		return a.Value(i).FormattedString(arrow.Microsecond)
	case *array.Binary:
		return hex.EncodeToString(a.Value(i))
	case *array.String:
		if v := a.Value(i); len(v) > 1000 {
			return fmt.Sprintf("%d×%q", len(v), v[:1])
		}
		return a.Value(i)
	}
	return arr.ValueStr(i)
}

// readRows reads every record into rows of rendered cells, by column name.
func readRows(t *testing.T, rr array.RecordReader) []map[string]string {
	t.Helper()
	var out []map[string]string
	for rr.Next() {
		rec := rr.RecordBatch()
		for i := 0; i < int(rec.NumRows()); i++ {
			row := map[string]string{}
			for c := 0; c < int(rec.NumCols()); c++ {
				row[rec.ColumnName(c)] = cell(rec.Column(c), i)
			}
			out = append(out, row)
		}
	}
	if err := rr.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

var mysqlAllTypesWant = map[string][3]string{
	// column: type | row 1 | row 2 (row 3 is NULL everywhere but id)
	"ti":   {"int8", "-128", "127"},
	"tb":   {"int8", "1", "0"},
	"si":   {"int16", "-32768", "32767"},
	"mi":   {"int32", "-8388608", "8388607"},
	"i":    {"int32", "-2147483648", "2147483647"},
	"bi":   {"int64", "-9223372036854775808", "9223372036854775807"},
	"tiu":  {"uint8", "255", "0"},
	"siu":  {"uint16", "65535", "0"},
	"miu":  {"uint32", "16777215", "0"},
	"iu":   {"uint32", "4294967295", "0"},
	"biu":  {"uint64", "18446744073709551615", "0"},
	"d38":  {"decimal(38, 10)", "-9999999999999999999999999999.9999999999", "1234567890123456789012345678.0123456789"},
	"d10u": {"decimal(10, 2)", "99999999.99", "0.01"},
	"d65":  {"utf8", "12345678901234567890123456789012345.123456789012345678901234567890", "-0.000000000000000000000000000001"},
	"d0":   {"decimal(5, 0)", "-99999", "0"},
	"f":    {"float32", "1.6777216e+07", "0.1"},
	"db":   {"float64", "1.7976931348623157e+308", "5e-324"},
	"dt":   {"date32", "1000-01-01", "9999-12-31"},
	"dtm":  {"timestamp[us, tz=UTC]", "2024-02-29T12:34:56.789012Z", "9999-12-31T23:59:59.999999Z"},
	"dt0":  {"timestamp[us, tz=UTC]", "1970-01-01T00:00:00.000000Z", "2000-01-01T00:00:01.000000Z"},
	"ts":   {"timestamp[us, tz=UTC]", "2038-01-19T03:14:07.999999Z", "1970-01-01T00:00:01.000001Z"},
	"tm":   {"time64[us]", "23:59:59.999999", "00:00:00.000000"},
	"js":   {"utf8", `{"a": [1, 2.5], "k": "ü"}`, "[]"},
	"bl":   {"binary", "000102037f80feff", ""},
	"bn":   {"binary", "616200", "000000"},
	"vb":   {"binary", "00ff", ""},
	"ch":   {"utf8", "ab", ""},
	"vc":   {"utf8", "héllo 🌍", ""},
	"tx":   {"utf8", "tab\tnl\nbs\\", ""},
	"lt":   {"utf8", `1048576×"x"`, "日本語"},
	"en":   {"utf8", "b c", "a"},
	"st":   {"utf8", "x,y", ""},
	"b1":   {"uint64", "1", "0"},
	"b64":  {"uint64", "18446744073709551615", "0"},
	"yr":   {"int16", "2155", "1901"},
}

// TestIntegrationMySQLAllTypes reads a column of every type, at its edges
// and NULL, as the Arrow type and value the source promises, through a
// table and through a query, across batch boundaries.
func TestIntegrationMySQLAllTypes(t *testing.T) {
	db := mysqltest.New(t)
	db.Exec(t, mysqlAllTypesDDL, mysqlAllTypesRows)
	// the TIMESTAMP literals were read in the session's time zone, which
	// must be UTC, as the values read back are labelled
	if got := db.Strings(t, "SELECT UNIX_TIMESTAMP(ts) FROM alltypes WHERE id = 1"); got[0] != "2147483647.999999" {
		t.Fatalf("the session is not in UTC: the TIMESTAMP is %s", got[0])
	}
	src := extract.NewMySQLSource(db.DB)
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		s     spec.Source
		batch int
	}{
		{"table", spec.Source{Config: &extract.MySQLSource{SQLSource: connector.SQLSource{Table: "alltypes"}}}, 2},
		{"query", spec.Source{Config: &extract.MySQLSource{SQLSource: connector.SQLSource{Query: "SELECT * FROM alltypes ORDER BY id;"}}}, 1},
		{"qualified", spec.Source{Config: &extract.MySQLSource{SQLSource: connector.SQLSource{Table: db.Name + ".alltypes"}}}, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			s := tc.s
			rr, err := src.Read(ctx, extract.Request{Sync: "all", Source: &s, BatchRows: tc.batch, Alloc: mem})
			if err != nil {
				t.Fatal(err)
			}
			defer rr.Release()
			for col, want := range mysqlAllTypesWant {
				idx := rr.Schema().FieldIndices(col)
				if len(idx) != 1 {
					t.Fatalf("no column %s in %s", col, rr.Schema())
				}
				if got := rr.Schema().Field(idx[0]).Type.String(); got != want[0] {
					t.Errorf("column %s: type %s, want %s", col, got, want[0])
				}
			}
			if md := rr.Schema().Field(rr.Schema().FieldIndices("d65")[0]).Metadata; md.FindKey(extract.MySQLTypeKey) < 0 ||
				md.Values()[md.FindKey(extract.MySQLTypeKey)] != "decimal(65,30)" {
				t.Errorf("d65 metadata %v", md)
			}
			rows := readRows(t, rr)
			if len(rows) != 3 {
				t.Fatalf("%d rows", len(rows))
			}
			for col, want := range mysqlAllTypesWant {
				for r := 0; r < 2; r++ {
					if got := rows[r][col]; got != want[r+1] {
						t.Errorf("row %d column %s = %q, want %q", r+1, col, got, want[r+1])
					}
				}
				if got := rows[2][col]; got != "NULL" {
					t.Errorf("row 3 column %s = %q, want NULL", col, got)
				}
			}
		})
	}
}

func TestIntegrationMySQLBatchesAndErrors(t *testing.T) {
	db := mysqltest.New(t)
	db.Exec(t, "CREATE TABLE zd (d DATE)", "SET SESSION sql_mode = ''", "INSERT INTO zd VALUES ('0000-00-00')")
	src := extract.NewMySQLSource(db.DB)
	ctx := context.Background()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)

	rr, err := src.Read(ctx, extract.Request{Source: &spec.Source{Config: &extract.MySQLSource{SQLSource: connector.SQLSource{Query: "SELECT seq AS n FROM seq_1_to_10"}}}, BatchRows: 3, Alloc: mem})
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for rr.Next() {
		sizes = append(sizes, int(rr.RecordBatch().NumRows()))
	}
	rr.Release()
	if got := fmt.Sprint(sizes); got != "[3 3 3 1]" {
		t.Errorf("record sizes %v, want [3 3 3 1]", sizes)
	}

	errCases := []struct{ query, want string }{
		{"SELECT POINT(1, 2) AS p", `column "p" has type GEOMETRY`},
		{"SELECT CAST('-01:00:00' AS TIME) AS neg", `column "neg": TIME -01:00:00 is negative`},
		{"SELECT CAST('25:00:00' AS TIME(6)) AS late", `column "late": TIME 25:00:00.000000 is past 24:00:00`},
		{"SELECT d AS zero FROM zd", `column "zero": zero date`},
		{"SELECT 1 AS a, 2 AS a", `column "a" appears twice`},
		{"SELECT * FROM nonesuch", "doesn't exist"},
	}
	for _, tc := range errCases {
		rr, err := src.Read(ctx, extract.Request{Sync: "e", Source: &spec.Source{Config: &extract.MySQLSource{SQLSource: connector.SQLSource{Query: tc.query}}}, Alloc: mem})
		if err == nil {
			for rr.Next() {
			}
			err = rr.Err()
			rr.Release()
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.query, err, tc.want)
		}
	}
	waitIdle(t, db, "errors")
}

// waitIdle fails unless every connection of the pool is back; a closed
// connection goes asynchronously, hence the short poll.
func waitIdle(t *testing.T, db *mysqltest.DB, after string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for db.DB.Stats().InUse != 0 {
		if time.Now().After(deadline) {
			t.Errorf("%d connections still in use after %s", db.DB.Stats().InUse, after)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestIntegrationMySQLCursorPushdown: the cursor filter is a bound
// parameter of the column's kind, and rows come in cursor order.
func TestIntegrationMySQLCursorPushdown(t *testing.T) {
	db := mysqltest.New(t)
	db.Exec(t, `CREATE TABLE ev (id INT PRIMARY KEY, amount DECIMAL(38,10), at DATETIME(6), day DATE, label VARCHAR(40), ratio DOUBLE)`,
		`INSERT INTO ev SELECT seq, 100000000000000000000 + seq * 0.0000000001, TIMESTAMP '2024-01-01 00:00:00' + INTERVAL seq MINUTE,
			DATE '2024-01-01' + INTERVAL seq DAY, CONCAT('l', LPAD(seq, 3, '0')), seq / 4 FROM seq_1_to_100 ORDER BY RAND()`)
	src := extract.NewMySQLSource(db.DB)
	ctx := context.Background()
	cases := []struct {
		cursor string
		after  cursor.Cursor
		query  string
	}{
		{"id", cursor.Cursor{Kind: cursor.Int, Value: "60"}, ""},
		{"at", cursor.Cursor{Kind: cursor.Timestamp, Value: "2024-01-01T01:00:00Z"}, ""},
		// row 60's amount: as doubles every amount is 1e20 and none is
		// greater (MariaDB compares decimals with text exactly; MySQL,
		// which does not, gets a DECIMAL cast)
		{"amount", cursor.Cursor{Kind: cursor.Decimal, Value: "100000000000000000000.0000000060"}, ""},
		// the same through an expression (a merged derived table's column)
		{"amt", cursor.Cursor{Kind: cursor.Decimal, Value: "100000000000000000000.0000000060"}, "select id, amount + 0 as amt from ev"},
		{"day", cursor.Cursor{Kind: cursor.Date, Value: "2024-03-01"}, ""},
		{"ratio", cursor.Cursor{Kind: cursor.Float, Value: "15"}, ""},
		// A value with a quote would break a spliced literal; bound, it is data.
		{"label", cursor.Cursor{Kind: cursor.String, Value: "l060' OR '1'='1"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.cursor, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			after := tc.after
			if tc.query == "" {
				tc.query = "select * from ev -- trailing comment"
			}
			rr, err := src.Read(ctx, extract.Request{Source: &spec.Source{Cursor: tc.cursor, Config: &extract.MySQLSource{SQLSource: connector.SQLSource{Query: tc.query}}},
				After: &after, BatchRows: 7, Alloc: mem})
			if err != nil {
				t.Fatal(err)
			}
			defer rr.Release()
			rows := readRows(t, rr)
			var ids []string
			for _, r := range rows {
				ids = append(ids, r["id"])
			}
			if len(ids) != 40 || ids[0] != "61" || ids[39] != "100" {
				t.Fatalf("got %d rows %v…, want 40 rows 61..100 in cursor order", len(ids), ids[:min(3, len(ids))])
			}
			for i := 1; i < len(ids); i++ {
				a, _ := strconv.Atoi(ids[i-1])
				b, _ := strconv.Atoi(ids[i])
				if a >= b {
					t.Fatalf("not ordered by cursor at %d: %v", i, ids[i-1:i+1])
				}
			}
		})
	}
}

// TestIntegrationMySQLStreams reads a 200,000-row table in 1,000-row
// records and checks that Arrow memory stays at about one record, then
// cancels a read mid-stream and expects a prompt context error and every
// connection back in the pool.
func TestIntegrationMySQLStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 200k rows")
	}
	db := mysqltest.New(t)
	db.Exec(t, "CREATE TABLE big (id INT PRIMARY KEY, h CHAR(32), at DATETIME(6), amount DECIMAL(12,2))",
		"INSERT INTO big SELECT seq, MD5(seq), NOW(6), seq / 100 FROM seq_1_to_200000")
	src := extract.NewMySQLSource(db.DB)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)

	rr, err := src.Read(context.Background(), extract.Request{BatchRows: 1000, Alloc: mem, Source: &spec.Source{Config: &extract.MySQLSource{SQLSource: connector.SQLSource{Table: "big"}}}})
	if err != nil {
		t.Fatal(err)
	}
	rows, peak := 0, 0
	for rr.Next() {
		rows += int(rr.RecordBatch().NumRows())
		peak = max(peak, mem.CurrentAlloc())
	}
	if err := rr.Err(); err != nil {
		t.Fatal(err)
	}
	rr.Release()
	if rows != 200000 {
		t.Fatalf("read %d rows", rows)
	}
	// one 1000-row record is ~70 KB; the table in Arrow would be ~14 MB
	if peak > 1<<20 {
		t.Errorf("peak Arrow memory %d bytes: not streaming", peak)
	}
	waitIdle(t, db, "a whole read")

	ctx, cancel := context.WithCancel(context.Background())
	rr, err = src.Read(ctx, extract.Request{BatchRows: 1000, Alloc: mem,
		Source: &spec.Source{Config: &extract.MySQLSource{SQLSource: connector.SQLSource{Query: "SELECT a.id, b.h FROM big a CROSS JOIN big b"}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	for i := 0; i < 3 && rr.Next(); i++ {
	}
	cancel()
	start := time.Now()
	for rr.Next() {
	}
	if !errors.Is(rr.Err(), context.Canceled) {
		t.Errorf("after cancel: err %v, want context.Canceled", rr.Err())
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("cancel took %s", d)
	}
	waitIdle(t, db, "cancel")

	// A caller that stops early and releases gets its connection back
	// without the rest of the result being read.
	rr, err = src.Read(context.Background(), extract.Request{BatchRows: 1000, Alloc: mem,
		Source: &spec.Source{Config: &extract.MySQLSource{SQLSource: connector.SQLSource{Query: "SELECT a.id, b.h FROM big a CROSS JOIN big b"}}}})
	if err != nil {
		t.Fatal(err)
	}
	rr.Next()
	start = time.Now()
	rr.Release()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("release mid-stream took %s", d)
	}
	waitIdle(t, db, "early release")
}
