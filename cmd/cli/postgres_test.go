package cli_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hoist-dev/hoist/internal/pgtest"
)

// pgSpec is a Postgres → Postgres sync in one test schema, with its state
// in the same database (schema <test>_state).
func pgSpec(db *pgtest.DB, mode string) string {
	return fmt.Sprintf(`version: 1
state: %s&hoist_schema=%s_state
connections:
  pg: {type: postgres, url: "%s"}
syncs:
  - name: copy
    source: {connection: pg, query: "select * from %s.src"}
    destination: {connection: pg, object: %s.dst, mode: %s, primary_key: [id], create_table: true}
    batch_size: 1000
    concurrency: 4
`, db.URL, db.Schema, db.URL, db.Schema, db.Schema, mode)
}

func pgSource(t *testing.T, db *pgtest.DB, rows int) {
	db.Exec(t, fmt.Sprintf(`CREATE TABLE src AS SELECT g::bigint AS id, 'user'||g||'@example.com' AS email,
		(g * 1.25)::numeric(12,2) AS amount, g %% 3 = 0 AS active,
		timestamptz '2026-01-01 00:00:00+00' + g * interval '1 second' AS updated_at,
		jsonb_build_object('n', g, 'tags', jsonb_build_array('a', g %% 7)) AS props
		FROM generate_series(1, %d) g`, rows), `ALTER TABLE src ADD PRIMARY KEY (id)`)
}

func pgSame(t *testing.T, db *pgtest.DB) {
	t.Helper()
	// no casts: create_table must have given every column its source type (jsonb too)
	diff := db.Strings(t, `SELECT count(*)::text FROM (
		(SELECT * FROM src EXCEPT ALL SELECT * FROM dst) UNION ALL (SELECT * FROM dst EXCEPT ALL SELECT * FROM src)) d`)
	if diff[0] != "0" {
		t.Fatalf("destination differs from source in %s rows", diff[0])
	}
}

// TestIntegrationPostgresKillThenRerun SIGKILLs hoist mid-run of a 200k-row
// Postgres → Postgres upsert; the rerun leaves dst equal to src (no row lost
// or doubled).
func TestIntegrationPostgresKillThenRerun(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	db := pgtest.New(t)
	pgSource(t, db, 200000)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "hoist.yaml"), []byte(pgSpec(db, "upsert")), 0o644)
	cmd := exec.Command(hoistBin, "run", "hoist.yaml")
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	landed := 0
	for time.Now().Before(deadline) {
		var n int
		if err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM dst`).Scan(&n); err == nil && n >= 5000 {
			landed = n
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if landed == 0 || landed >= 200000 {
		t.Fatalf("could not kill mid-run (%d rows landed)", landed)
	}
	res := hoist(t, dir, nil, "run", "hoist.yaml", "--output", "json")
	if res.code != 0 {
		t.Fatalf("rerun: exit %d %s", res.code, res.stderr)
	}
	pgSame(t, db)
	// and a third run sends nothing
	res = hoist(t, dir, nil, "run", "hoist.yaml", "--output", "json")
	if res.code != 0 || !strings.Contains(res.stdout, `"delivered":0`) {
		t.Fatalf("third run: %s %s", res.stdout, res.stderr)
	}
}

// TestIntegrationPostgresTwoRunners starts two runners of one sync against
// one postgres state store: exactly one works, the other exits 1 naming the
// holder; with --lock-timeout the second waits and then finds nothing to do.
func TestIntegrationPostgresTwoRunners(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	db := pgtest.New(t)
	pgSource(t, db, 100000)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "hoist.yaml"), []byte(pgSpec(db, "upsert")), 0o644)
	// warm up: creates the state schema so both runners race on the lock only
	if res := hoist(t, dir, nil, "state", "show", "hoist.yaml"); res.code != 0 {
		t.Fatalf("state show: %s", res.stderr)
	}
	var wg sync.WaitGroup
	results := make([]result, 2)
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i] = hoist(t, dir, nil, "run", "hoist.yaml", "--output", "json")
		}(i)
	}
	wg.Wait()
	ok, locked := 0, 0
	for _, r := range results {
		switch {
		case r.code == 0:
			ok++
		case r.code == 1 && strings.Contains(r.stdout+r.stderr, "locked by pid"):
			locked++
		default:
			t.Fatalf("unexpected: exit %d %s %s", r.code, r.stdout, r.stderr)
		}
	}
	if ok != 1 || locked != 1 {
		t.Fatalf("%d runners worked and %d were locked out, want 1 and 1", ok, locked)
	}
	pgSame(t, db)
	// with a lock timeout the second runner waits for the first, then finds nothing to do
	db.Exec(t, `UPDATE src SET email = 'changed'||id WHERE id <= 50000`)
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i] = hoist(t, dir, nil, "run", "hoist.yaml", "--output", "json", "--lock-timeout", "60s")
		}(i)
	}
	wg.Wait()
	delivered := results[0].stdout + results[1].stdout
	if results[0].code != 0 || results[1].code != 0 || !strings.Contains(delivered, `"delivered":50000`) || !strings.Contains(delivered, `"delivered":0`) {
		t.Fatalf("with --lock-timeout: %+v", results)
	}
	pgSame(t, db)
}
