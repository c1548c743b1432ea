package sync_test

import (
	"context"
	"strings"
	"testing"

	"github.com/hoist-dev/hoist/internal/pgtest"
	hsync "github.com/hoist-dev/hoist/sync"
)

// refreshTypesDDL has the column types the round-trip tests use.
const refreshTypesDDL = `CREATE TABLE src (
	id int8 PRIMARY KEY, i2 int2, i4 int4, n38 numeric(38,10), n12 numeric(12,2), nfree numeric,
	f4 real, f8 double precision, t text, vc varchar(20), b bool, d date,
	ts timestamp, tstz timestamptz, u uuid, j json, jb jsonb, by bytea, ai int4[], at text[])`

const refreshTypesRows = `INSERT INTO src VALUES
	(1, 32767, -2147483648, 1234567890123456789012345678.0123456789, 9999999999.99,
	 123456789012345678901234567890.123456789012345678901, 'NaN', 'Infinity', 'héllo 🌍 ñ', 'vär',
	 true, '2024-02-29', '2024-02-29 12:34:56.789012', '2024-06-01 12:00:00+05:30',
	 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a": [1, 2.50],  "k":"ü"}', '{"b": {"c": null}}', '\x00ff10',
	 '{1,NULL,3}', '{"a,b","c\"d",NULL,""}'),
	(2, -32768, 0, -0.0000000001, -99.99, 0.000, -1.5, 1e-300, '', '', false,
	 '1969-12-31', '1900-01-01 00:00:00', '1969-12-31 23:59:59.999999+00', '00000000-0000-0000-0000-000000000000',
	 '[]', '"s"', '', '{}', '{}'),
	(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	 NULL, NULL, NULL)`

// TestIntegrationRefreshRoundTrip: after a run, plan --refresh on the
// untouched destination finds no change for any column type, whatever the
// destination: a Postgres table made LIKE the source, one create_table made,
// SQLite, and each file format. Any value that read back differently from
// how the mapped source value encodes would show as a change.
func TestIntegrationRefreshRoundTrip(t *testing.T) {
	db := pgtest.New(t)
	db.Exec(t, refreshTypesDDL, refreshTypesRows, "CREATE TABLE dst_like (LIKE src INCLUDING ALL)")
	t.Setenv("REFRESH_PG_URL", db.URL)
	// Without arrays, which SQLite and the text formats keep as JSON text.
	// Each destination also gets only the values it can hold: SQLite stores
	// a NaN REAL as NULL, CSV cannot tell an empty string from NULL, and
	// JSON Lines reads an empty binary value back as NULL; those show up as
	// drift, as they should, so they are left out here.
	cols := func(f4, t, vc, by string) string {
		return "select id, i2, i4, n38, n12, nfree, " + f4 + " as f4, f8, " + t + " as t, " + vc + " as vc, b, d, ts, tstz, u, j, jb, " + by + " as by from src"
	}
	lite := cols("case when f4 = 'NaN' then null else f4 end", "t", "vc", "by")
	csv := cols("f4", "nullif(t, '')", "nullif(vc, '')", "nullif(by, '')")
	jsonl := cols("f4", "t", "vc", "nullif(by, '')")
	syncs := []struct{ name, query, dest string }{
		{"pg_like", "select * from src", "{connection: pg, object: dst_like, mode: upsert, primary_key: [id]}"},
		{"pg_made", "select * from src", "{connection: pg, object: dst_made, mode: mirror, primary_key: [id], create_table: true}"},
		{"sqlite", lite, "{connection: lite, object: dst, mode: upsert, primary_key: [id], create_table: true}"},
		{"csv", csv, "{connection: out, object: dst.csv, mode: upsert, primary_key: [id]}"},
		{"jsonl", jsonl, "{connection: out, object: dst.jsonl, mode: upsert, primary_key: [id]}"},
		{"parquet", "select * from src", "{connection: out, object: dst.parquet, mode: upsert, primary_key: [id]}"},
	}
	text := `version: 1
connections:
  pg: {type: postgres, url: "${REFRESH_PG_URL}"}
  lite: {type: sqlite, path: ./dest.db}
  out: {type: files, path: ./out}
syncs:
`
	for _, s := range syncs {
		text += "  - name: " + s.name + "\n    source: {connection: pg, query: \"" + s.query + "\"}\n    destination: " + s.dest + "\n"
	}
	f, store := loadSpecAndStore(t, t.TempDir(), text)
	ctx := context.Background()
	for i, s := range syncs {
		t.Run(s.name, func(t *testing.T) {
			sy := f.Syncs[i]
			r := &hsync.Runner{File: f, Store: store}
			if rep := r.Run(ctx, sy); rep.Status != hsync.StatusOK || rep.Delivered != 3 {
				t.Fatalf("run: %s delivered %d: %s", rep.Status, rep.Delivered, rep.Error)
			}
			rr := &hsync.Runner{File: f, Store: store, Opt: hsync.Options{Refresh: true}}
			pr, err := rr.Plan(ctx, sy)
			if err != nil {
				t.Fatal(err)
			}
			if pr.Pending() || pr.Unchanged != 3 {
				t.Errorf("plan --refresh on the untouched destination: %s, %d unchanged, samples %+v", counts(pr), pr.Unchanged, pr.Samples)
			}
		})
	}
}

// TestIntegrationRefreshPostgresDrift: rows deleted, changed and added by
// hand in a Postgres table are shown by plan --refresh (counts and samples)
// and repaired by run --refresh; after it both plans show nothing and a
// normal run sends nothing. Then a TRUNCATE is repaired the same way.
func TestIntegrationRefreshPostgresDrift(t *testing.T) {
	db := pgtest.New(t)
	db.Exec(t, `CREATE TABLE src (id int PRIMARY KEY, name text, amount numeric(10,2), at timestamptz)`,
		`INSERT INTO src SELECT g, 'n' || g, g * 1.25, '2026-01-01'::timestamptz + g * interval '1 hour' FROM generate_series(1, 50) g`)
	t.Setenv("REFRESH_PG_URL", db.URL)
	dir := t.TempDir()
	f, store := loadSpecAndStore(t, dir, `version: 1
connections:
  pg: {type: postgres, url: "${REFRESH_PG_URL}"}
syncs:
  - name: s
    source: {connection: pg, table: src}
    destination: {connection: pg, object: dst, mode: mirror, primary_key: [id], create_table: true}
    max_delete_fraction: 0.5
`)
	ctx := context.Background()
	sy := f.Syncs[0]
	plain := &hsync.Runner{File: f, Store: store, Opt: hsync.Options{TempDir: dir}}
	refresh := &hsync.Runner{File: f, Store: store, Opt: hsync.Options{TempDir: dir, Refresh: true, SortMemory: 256}}
	plan := func(r *hsync.Runner) *hsync.PlanReport {
		t.Helper()
		pr, err := r.Plan(ctx, sy)
		if err != nil {
			t.Fatal(err)
		}
		return pr
	}
	run := func(r *hsync.Runner) *hsync.Report {
		t.Helper()
		rep := r.Run(ctx, sy)
		if rep.Status != hsync.StatusOK {
			t.Fatalf("run: %s %s", rep.Status, rep.Error)
		}
		return rep
	}
	if rep := run(plain); rep.Delivered != 50 {
		t.Fatalf("first run delivered %d", rep.Delivered)
	}
	db.Exec(t, `DELETE FROM dst WHERE id IN (7, 8)`, `UPDATE dst SET name = 'hand', amount = 0 WHERE id = 20`,
		`INSERT INTO dst VALUES (1000, 'stray', 1, now())`)
	if pr := plan(plain); pr.Pending() {
		t.Fatalf("plan without --refresh sees the drift: %s", counts(pr))
	}
	pr := plan(refresh)
	if got := counts(pr); got != "+2 ~1 -1" {
		t.Errorf("plan --refresh: %s, want +2 ~1 -1", got)
	}
	want := "add 7 amount:8.75 at:2026-01-01T07:00:00Z id:7 name:n7; add 8 amount:10.00 at:2026-01-01T08:00:00Z id:8 name:n8; " +
		"change 20 amount:0.00→25.00 name:hand→n20; remove 1000"
	if got := samples(pr); got != want {
		t.Errorf("plan --refresh samples:\n got %s\nwant %s", got, want)
	}
	if rep := run(refresh); rep.Delivered != 4 {
		t.Errorf("run --refresh delivered %d, want 4", rep.Delivered)
	}
	if got := strings.Join(db.Strings(t, `SELECT count(*)::text || ' ' || sum(amount)::text FROM dst`), ""); got != "50 1593.75" {
		t.Errorf("destination after run --refresh: %s", got)
	}
	for name, r := range map[string]*hsync.Runner{"plan": plain, "plan --refresh": refresh} {
		if pr := plan(r); pr.Pending() {
			t.Errorf("%s after the repair: %s %s", name, counts(pr), samples(pr))
		}
	}
	if rep := run(plain); rep.Delivered != 0 {
		t.Errorf("a normal run after run --refresh delivered %d", rep.Delivered)
	}

	db.Exec(t, `TRUNCATE dst`)
	if pr := plan(refresh); counts(pr) != "+50 ~0 -0" {
		t.Errorf("plan --refresh after TRUNCATE: %s", counts(pr))
	}
	if rep := run(refresh); rep.Delivered != 50 {
		t.Errorf("run --refresh after TRUNCATE delivered %d", rep.Delivered)
	}
	if pr := plan(refresh); pr.Pending() {
		t.Errorf("plan --refresh after repairing the TRUNCATE: %s", counts(pr))
	}
}
