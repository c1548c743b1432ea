package sync_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/hoist-dev/hoist/internal/mysqltest"
	"github.com/hoist-dev/hoist/internal/pgtest"
	hsync "github.com/hoist-dev/hoist/sync"
)

// e2ePGTypes has the Postgres types a MySQL table can hold, with values it
// can hold: no NaN or infinity, years 1-9999.
const e2ePGTypes = `CREATE TABLE src (
	id int8 PRIMARY KEY, i2 int2, i4 int4, n38 numeric(38,10), n12 numeric(12,2),
	f4 real, f8 double precision, t text, vc varchar(20), b bool, d date,
	ts timestamp, tstz timestamptz, j json, jb jsonb, by bytea, u uuid)`

const e2ePGRows = `INSERT INTO src VALUES
	(1, 32767, -2147483648, 1234567890123456789012345678.0123456789, 9999999999.99,
	 3.4028235e38, 1.7976931348623157e308, 'héllo 🌍 ñ 中文 tab	nl
bs\ \N', 'vär', true, '2024-02-29',
	 '2024-02-29 12:34:56.789012', '2024-06-01 12:00:00.000001+05:30', '{"a": [1, 2.50],  "k":"ü"}', '{"b": {"c": null}}',
	 '\x00ff5c090a0d', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'),
	(2, -32768, 0, -0.0000000001, -99.99, -1.5, 1e-300, repeat('long ', 200000), '', false,
	 '0001-01-01', '1969-12-31 23:59:59.999999', '9999-12-31 23:59:59.999999+00', '[]', '"s"', '', '00000000-0000-0000-0000-000000000000'),
	(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`

// TestIntegrationMySQLPostgresRoundTrip syncs a Postgres table into
// MariaDB (create_table) and back into Postgres through the sync engine:
// the MariaDB table holds the exact values, and the table back in Postgres
// equals the source in every column. A second run of each sends nothing.
func TestIntegrationMySQLPostgresRoundTrip(t *testing.T) {
	pg := pgtest.New(t)
	my := mysqltest.New(t)
	pg.Exec(t, e2ePGTypes, e2ePGRows)
	t.Setenv("E2E_PG_URL", pg.URL)
	t.Setenv("E2E_MY_URL", my.URL)
	f, store := loadSpecAndStore(t, t.TempDir(), `version: 1
connections:
  pg: {type: postgres, url: "${E2E_PG_URL}"}
  my: {type: mysql, url: "${E2E_MY_URL}", statement_timeout: 1m}
syncs:
  - name: to_mysql
    source: {connection: pg, table: src}
    destination: {connection: my, object: mid, mode: upsert, primary_key: [id], create_table: true}
    batch_size: 2
  - name: to_postgres
    source: {connection: my, table: mid, tinyint1_as_bool: true}
    destination: {connection: pg, object: back, mode: mirror, primary_key: [id], create_table: true}
`)
	ctx := context.Background()
	r := &hsync.Runner{File: f, Store: store}
	for _, s := range f.Syncs {
		if rep := r.Run(ctx, s); rep.Status != hsync.StatusOK || rep.Delivered != 3 || rep.Rejected != 0 {
			t.Fatalf("%s: %s, delivered %d, rejected %d: %s", s.Name, rep.Status, rep.Delivered, rep.Rejected, rep.Error)
		}
	}
	// MariaDB holds the exact values, in the types create_table chose
	got := my.Strings(t, `SELECT CONCAT_WS('|', id, i2, i4, n38, n12, f4, f8, b, d, ts, tstz, j, jb, HEX(`+"`by`"+`), u, vc, MD5(t))
		FROM mid ORDER BY id`)
	md5 := pg.Strings(t, "SELECT coalesce(md5(t), '') FROM src ORDER BY id")
	want := []string{
		`1|32767|-2147483648|1234567890123456789012345678.0123456789|9999999999.99|3.40282e38|1.7976931348623157e308|1|2024-02-29|2024-02-29 12:34:56.789012|2024-06-01 06:30:00.000001|{"a": [1, 2.50],  "k":"ü"}|{"b": {"c": null}}|00FF5C090A0D|a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11|vär|` + md5[0],
		`2|-32768|0|-0.0000000001|-99.99|-1.5|1e-300|0|0001-01-01|1969-12-31 23:59:59.999999|9999-12-31 23:59:59.999999|[]|"s"||00000000-0000-0000-0000-000000000000||` + md5[1],
		`3`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("mariadb rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	types := my.Strings(t, "SELECT CONCAT(COLUMN_NAME, ' ', COLUMN_TYPE) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'mid' ORDER BY ORDINAL_POSITION")
	if s := strings.Join(types, ", "); s != "id bigint(20), i2 smallint(6), i4 int(11), n38 decimal(38,10), n12 decimal(12,2), f4 float, f8 double, t longtext, vc longtext, b tinyint(1), d date, ts datetime(6), tstz datetime(6), j longtext, jb longtext, by longblob, u char(36)" {
		t.Errorf("mariadb columns: %s", s)
	}
	// back in Postgres, every column equals the source's
	cols := []string{"i2", "i4", "n38", "n12", "f4", "f8", "t", "vc", "b", "d", "tstz", "by"}
	var same []string
	for _, c := range cols {
		same = append(same, fmt.Sprintf("s.%s IS NOT DISTINCT FROM b.%s", c, c))
	}
	// types that come back as another type: compared as what they mean
	same = append(same, "(s.ts AT TIME ZONE 'UTC') IS NOT DISTINCT FROM b.ts", "s.j::text IS NOT DISTINCT FROM b.j::text",
		"s.jb::text IS NOT DISTINCT FROM b.jb::text", "s.u::text IS NOT DISTINCT FROM b.u::text")
	diff := pg.Strings(t, "SELECT count(*)::text FROM src s FULL JOIN back b USING (id) WHERE s.id IS NULL OR b.id IS NULL OR NOT ("+strings.Join(same, " AND ")+")")
	if diff[0] != "0" {
		t.Errorf("%s rows differ between src and back", diff[0])
	}
	for _, s := range f.Syncs {
		if rep := r.Run(ctx, s); rep.Status != hsync.StatusOK || rep.Delivered != 0 {
			t.Errorf("%s again: %s, delivered %d: %s", s.Name, rep.Status, rep.Delivered, rep.Error)
		}
	}
}

// TestIntegrationMySQLToPostgres syncs MariaDB's own types into Postgres
// (create_table) and checks the values there; then an incremental run
// through a cursor sends only the rows added, and one changed by hand is
// upserted.
func TestIntegrationMySQLToPostgres(t *testing.T) {
	pg := pgtest.New(t)
	my := mysqltest.New(t)
	my.Exec(t, `CREATE TABLE src (id BIGINT UNSIGNED PRIMARY KEY, tiu TINYINT UNSIGNED, iu INT UNSIGNED, d10 DECIMAL(10,2) UNSIGNED,
		f FLOAT, bt BIT(10), yr YEAR, en ENUM('a','b c'), st SET('x','y'), vc VARCHAR(30), bl BLOB, dt DATETIME(6),
		ts TIMESTAMP(6) NULL, ver INT NOT NULL)`,
		`INSERT INTO src VALUES
		(18446744073709551615, 255, 4294967295, 99999999.99, 16777217, b'1111111111', 2155, 'b c', 'x,y', 'héllo 🌍', UNHEX('00FF'),
		 '2024-02-29 12:34:56.789012', '2038-01-19 03:14:07.999999', 1),
		(1, 0, 0, 0.01, 0.1, 0, 1901, 'a', '', '', '', '1000-01-01 00:00:00', '1970-01-01 00:00:01', 2),
		(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 3)`)
	t.Setenv("E2E_PG_URL", pg.URL)
	t.Setenv("E2E_MY_URL", my.URL)
	f, store := loadSpecAndStore(t, t.TempDir(), `version: 1
connections:
  pg: {type: postgres, url: "${E2E_PG_URL}"}
  my: {type: mysql, url: "${E2E_MY_URL}"}
syncs:
  - name: s
    source: {connection: my, table: src, cursor: ver}
    destination: {connection: pg, object: dst, mode: upsert, primary_key: [id], create_table: true}
`)
	ctx := context.Background()
	r := &hsync.Runner{File: f, Store: store}
	if rep := r.Run(ctx, f.Syncs[0]); rep.Status != hsync.StatusOK || rep.Delivered != 3 {
		t.Fatalf("run: %s, delivered %d: %s", rep.Status, rep.Delivered, rep.Error)
	}
	q := `SELECT concat_ws('|', id, tiu, iu, d10, f4, bt, yr, en, st, vc, encode(bl, 'hex'),
		to_char(dt, 'YYYY-MM-DD HH24:MI:SS.US'), to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), ver)
		FROM (SELECT *, f::text AS f4 FROM dst) d ORDER BY id`
	want := []string{
		"1|0|0|0.01|0.1|0|1901|a||||1000-01-01 00:00:00.000000|1970-01-01 00:00:01.000000|2",
		"2|3",
		"18446744073709551615|255|4294967295|99999999.99|1.6777216e+07|1023|2155|b c|x,y|héllo 🌍|00ff|2024-02-29 12:34:56.789012|2038-01-19 03:14:07.999999|1",
	}
	if got := pg.Strings(t, q); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("postgres rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	my.Exec(t, "INSERT INTO src (id, vc, ver) VALUES (10, 'new', 4), (11, 'it''s', 5)", "UPDATE src SET vc = 'changed', ver = 6 WHERE id = 1")
	rep := r.Run(ctx, f.Syncs[0])
	if rep.Status != hsync.StatusOK || rep.RowsRead != 3 || rep.Delivered != 3 || rep.CursorAfter != "6" {
		t.Fatalf("incremental run: %s, read %d, delivered %d, cursor %s: %s", rep.Status, rep.RowsRead, rep.Delivered, rep.CursorAfter, rep.Error)
	}
	if got := strings.Join(pg.Strings(t, "SELECT concat_ws(':', id, vc) FROM dst WHERE ver > 3 ORDER BY id"), " "); got != "1:changed 10:new 11:it's" {
		t.Errorf("after the incremental run: %s", got)
	}
}
