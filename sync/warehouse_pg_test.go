package sync_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/hoist-dev/hoist/internal/pgtest"
	"github.com/hoist-dev/hoist/internal/shard"
	hsync "github.com/hoist-dev/hoist/sync"
)

func warehouseSpec(db *pgtest.DB, mode string) string {
	return fmt.Sprintf(`version: 1
connections:
  pg: {type: postgres, url: %q}
syncs:
  - name: people
    source: {connection: pg, table: %s.src}
    destination: {connection: pg, object: %s.dst, mode: %s, primary_key: [id], create_table: true}
    diff: warehouse
    batch_size: 500
`, db.URL, db.Schema, db.Schema, mode)
}

func sameAsSource(t *testing.T, db *pgtest.DB) {
	t.Helper()
	n := db.Strings(t, `SELECT count(*)::text FROM ((SELECT * FROM src EXCEPT ALL SELECT * FROM dst) UNION ALL (SELECT * FROM dst EXCEPT ALL SELECT * FROM src)) d`)
	if n[0] != "0" {
		t.Fatalf("dst differs from src in %s rows", n[0])
	}
}

// TestIntegrationWarehouseDiff: a mirror with diff: warehouse reads only
// the changed rows out of PostgreSQL, plan says what run then does, a
// rerun reads nothing, and the shards of a sharded run each diff their own
// part.
func TestIntegrationWarehouseDiff(t *testing.T) {
	db := pgtest.New(t)
	db.Exec(t, `CREATE TABLE src AS SELECT g::bigint AS id, 'user'||g AS email, g % 100 AS score FROM generate_series(1, 5000) g`,
		`ALTER TABLE src ADD PRIMARY KEY (id)`)
	dir := t.TempDir()
	f, store := loadSpecAndStore(t, dir, warehouseSpec(db, "mirror"))
	ctx := context.Background()
	r := &hsync.Runner{File: f, Store: store, Opt: hsync.Options{TempDir: dir}}
	s := f.Syncs[0]
	if rep := r.Run(ctx, s); rep.Status != hsync.StatusOK || rep.RowsRead != 5000 || rep.Added != 5000 {
		t.Fatalf("first run: %+v", rep)
	}
	sameAsSource(t, db)

	db.Exec(t, `UPDATE src SET score = score + 1000 WHERE id % 100 = 0`, // 50 changes
		`DELETE FROM src WHERE id % 500 = 1`,                                         // 10 removes
		`INSERT INTO src SELECT g, 'new'||g, 0 FROM generate_series(10001, 10005) g`) // 5 adds
	plan, err := r.Plan(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Added != 5 || plan.Changed != 50 || plan.Removed != 10 || plan.RowsRead != 55 {
		t.Fatalf("plan: added %d changed %d removed %d read %d, want 5 50 10 55", plan.Added, plan.Changed, plan.Removed, plan.RowsRead)
	}
	rep := r.Run(ctx, s)
	if rep.Status != hsync.StatusOK || rep.Added != 5 || rep.Changed != 50 || rep.Removed != 10 || rep.RowsRead != 55 || rep.Delivered != 65 {
		t.Fatalf("run after edits: %+v", rep)
	}
	sameAsSource(t, db)
	if rep := r.Run(ctx, s); rep.RowsRead != 0 || rep.Delivered != 0 {
		t.Fatalf("rerun: %+v", rep)
	}
	st, err := store.Get(ctx, "people")
	if err != nil || st.Identity == nil || st.Identity.Diff != "warehouse" {
		t.Fatalf("state identity: %+v %v", st.Identity, err)
	}

	// two shards, each its own snapshot: together exact (a new layout
	// starts from a reset state, as the refusal says)
	if err := store.Reset(ctx, "people"); err != nil {
		t.Fatal(err)
	}
	db.Exec(t, `UPDATE src SET email = email || '+s' WHERE id % 7 = 0`)
	for i := range 2 {
		sr := &hsync.Runner{File: f, Store: store, Opt: hsync.Options{TempDir: dir, Shard: shard.Spec{Index: i, Count: 2}}}
		rep := sr.Run(ctx, s)
		// a first run of the shard: every row of its part
		if rep.Status != hsync.StatusOK || rep.RowsRead < 2000 || rep.RowsRead > 3000 {
			t.Fatalf("shard %d: %+v", i, rep)
		}
	}
	sameAsSource(t, db)
	db.Exec(t, `UPDATE src SET score = -1 WHERE id IN (7, 8, 9, 10)`, `DELETE FROM src WHERE id IN (11, 12, 13)`)
	var read, removed int64
	for i := range 2 {
		sr := &hsync.Runner{File: f, Store: store, Opt: hsync.Options{TempDir: dir, Shard: shard.Spec{Index: i, Count: 2}}}
		rep := sr.Run(ctx, s)
		read, removed = read+rep.RowsRead, removed+rep.Removed
	}
	if read != 4 || removed != 3 {
		t.Fatalf("the shards read %d rows and removed %d, want the 4 changed and 3 deleted", read, removed)
	}
	sameAsSource(t, db)
}

// TestIntegrationWarehouseDiffText: a source with a json column (no hash
// function) hashes the rows' text instead, with the same result.
func TestIntegrationWarehouseDiffText(t *testing.T) {
	db := pgtest.New(t)
	db.Exec(t, `CREATE TABLE src AS SELECT g::bigint AS id, json_build_object('n', g) AS doc FROM generate_series(1, 300) g`)
	dir := t.TempDir()
	f, store := loadSpecAndStore(t, dir, warehouseSpec(db, "mirror"))
	ctx := context.Background()
	r := &hsync.Runner{File: f, Store: store, Opt: hsync.Options{TempDir: dir}}
	if rep := r.Run(ctx, f.Syncs[0]); rep.Status != hsync.StatusOK || rep.Delivered != 300 {
		t.Fatalf("first run: %+v", rep)
	}
	db.Exec(t, `UPDATE src SET doc = json_build_object('n', -id) WHERE id <= 7`, `DELETE FROM src WHERE id = 300`)
	if rep := r.Run(ctx, f.Syncs[0]); rep.Status != hsync.StatusOK || rep.RowsRead != 7 || rep.Removed != 1 {
		t.Fatalf("after edits: %+v", rep)
	}
	n := db.Strings(t, `SELECT count(*)::text FROM src FULL JOIN dst USING (id) WHERE src.doc::text IS DISTINCT FROM dst.doc::text`)
	if n[0] != "0" {
		t.Fatalf("dst differs from src in %s rows", n[0])
	}
}

// TestIntegrationWarehouseFence: a run whose sync another run took over
// (it prepared the snapshot with its own token since) cannot apply its
// changes to the warehouse snapshot: the run fails saying it lost its lock,
// and the next run sends the rows again.
func TestIntegrationWarehouseFence(t *testing.T) {
	db := pgtest.New(t)
	db.Exec(t, `CREATE TABLE src AS SELECT g::bigint AS id, 'user'||g AS email FROM generate_series(1, 100) g`,
		`CREATE TABLE dst (id bigint PRIMARY KEY, email text)`,
		// what another run's prepare does while this one loads: the
		// sync's token becomes that run's
		`CREATE FUNCTION steal() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN UPDATE hoist_diff.fences SET token = token + 1 WHERE sync LIKE 'people %'; RETURN NULL; END $$`,
		`CREATE TRIGGER steal AFTER INSERT ON dst FOR EACH STATEMENT EXECUTE FUNCTION steal()`)
	dir := t.TempDir()
	f, store := loadSpecAndStore(t, dir, warehouseSpec(db, "upsert"))
	ctx := context.Background()
	r := &hsync.Runner{File: f, Store: store, Opt: hsync.Options{TempDir: dir}}
	count := func() string {
		return db.Strings(t, `SELECT count(*)::text FROM hoist_diff.snapshot WHERE sync LIKE 'people %'`)[0]
	}
	before := "0"
	if db.Strings(t, `SELECT (to_regclass('hoist_diff.snapshot') IS NOT NULL)::text`)[0] == "true" {
		before = count()
	}
	rep := r.Run(ctx, f.Syncs[0])
	if rep.Status != hsync.StatusFailed || !strings.Contains(rep.Error, "another run prepared the warehouse snapshot") {
		t.Fatalf("fenced run: %+v", rep)
	}
	if after := count(); after != before {
		t.Fatalf("the fenced run applied rows: %s before, %s after", before, after)
	}
	db.Exec(t, `DROP TRIGGER steal ON dst`)
	if rep := r.Run(ctx, f.Syncs[0]); rep.Status != hsync.StatusOK || rep.Delivered != 100 {
		t.Fatalf("next run: %+v", rep)
	}
}
