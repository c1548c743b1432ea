// Command scalebench measures one big sync refreshed by sharded runners
// with the warehouse diff (make bench-scale): an N-row PostgreSQL table of
// bench-postgres's shape is mirrored into another table of the same
// database by -shards processes of the built binary started together
// (run --shard I/N, state in PostgreSQL), 1% of its rows are changed, and
// the refresh is timed: wall time, rows each shard read from PostgreSQL and
// delivered, and each shard's peak RSS (/usr/bin/time). The destination is
// then compared with the source.
//
// With -compare it also times, unsharded on the same table and the same
// kind of change, the warehouse diff against the client-side diff (every
// row read and diffed by hoist), each into a table of its own.
//
//	go run -tags minicore_disabled ./bench/scale -bin bin/hoist -rows 20000000
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "scalebench:", err)
		os.Exit(1)
	}
}

type config struct {
	bin, url, schema string
	rows, shards     int
	change           float64
	compare, keep    bool
	verify           bool
}

func run() error {
	var c config
	flag.StringVar(&c.bin, "bin", "bin/hoist", "hoist binary to measure")
	flag.StringVar(&c.url, "url", envOr("HOIST_BENCH_PG", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"), "PostgreSQL server and database ($HOIST_BENCH_PG)")
	flag.StringVar(&c.schema, "schema", "hoist_scale", "schema the bench tables go in (dropped first)")
	flag.IntVar(&c.rows, "rows", 20_000_000, "rows in the source table")
	flag.IntVar(&c.shards, "shards", 4, "shard processes")
	flag.Float64Var(&c.change, "change", 0.01, "share of the rows changed before the refresh")
	flag.BoolVar(&c.compare, "compare", false, "also time the unsharded warehouse diff against the client-side diff")
	flag.BoolVar(&c.verify, "verify", true, "compare the destination with the source after each refresh")
	flag.BoolVar(&c.keep, "keep", false, "keep the schema and the work folder")
	flag.Parse()
	bin, err := filepath.Abs(c.bin)
	if err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("binary %s: %w (make build)", c.bin, err)
	}
	c.bin = bin // the runs start in the work folder
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, withParams(c.url))
	if err != nil {
		return err
	}
	defer pool.Close()
	dir, err := os.MkdirTemp("", "hoist-scale-*")
	if err != nil {
		return err
	}
	if !c.keep {
		defer os.RemoveAll(dir)
		defer exec0(ctx, pool, "DROP SCHEMA IF EXISTS "+ident(c.schema)+" CASCADE", "DROP SCHEMA IF EXISTS "+ident(c.schema+"_state")+" CASCADE",
			"DELETE FROM hoist_diff.snapshot WHERE sync LIKE 'scale%'")
	}

	fmt.Printf("source: %d rows (bench-postgres's 10 columns), %s, %d shards, %.1f%% changed\n", c.rows, redact(c.url), c.shards, c.change*100)
	began := time.Now()
	if err := genSource(ctx, pool, c); err != nil {
		return err
	}
	fmt.Printf("generated in %s\n", time.Since(began).Round(time.Millisecond))
	spec := specText(c)
	if err := os.WriteFile(filepath.Join(dir, "hoist.yaml"), []byte(spec), 0o644); err != nil {
		return err
	}
	fmt.Printf("\nspec:\n%s\n", indent(strings.ReplaceAll(spec, c.url, redact(c.url))))

	// first load: every row, by the shards
	fmt.Println("first load (every row), the shards started together:")
	if _, err := shards(ctx, c, dir, "scale", true); err != nil {
		return err
	}
	changed, err := change(ctx, pool, c, 1)
	if err != nil {
		return err
	}
	fmt.Printf("\nrefresh after %d rows changed, the shards started together:\n", changed)
	if _, err := shards(ctx, c, dir, "scale", true); err != nil {
		return err
	}
	if c.verify {
		if err := same(ctx, pool, c.schema, "bench_dst"); err != nil {
			return err
		}
		fmt.Println("bench_dst equals bench_src")
	}
	if c.compare {
		return compare(ctx, pool, c, dir)
	}
	return nil
}

// report is the part of hoist's JSON report the bench prints.
type report struct {
	Sync       string `json:"sync"`
	Shard      string `json:"shard"`
	Status     string `json:"status"`
	Error      string `json:"error"`
	RowsRead   int64  `json:"rows_read"`
	Removed    int64  `json:"removed"`
	Delivered  int64  `json:"delivered"`
	DurationMS int64  `json:"duration_ms"`
}

type result struct {
	rep    report
	rssKB  int64
	wall   time.Duration
	stderr string
}

// hoist runs the binary under /usr/bin/time and returns its report and
// peak RSS.
func hoist(ctx context.Context, c config, dir string, args ...string) (result, error) {
	var r result
	cmdArgs := append([]string{"-f", "hoist-maxrss-kb %M", c.bin, "run", "hoist.yaml", "--output", "json", "--quiet"}, args...)
	cmd := exec.CommandContext(ctx, "/usr/bin/time", cmdArgs...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	r.wall = time.Since(start)
	r.stderr = errb.String()
	if line, _, _ := strings.Cut(out.String(), "\n"); line != "" {
		if jerr := json.Unmarshal([]byte(line), &r.rep); jerr != nil {
			return r, fmt.Errorf("report %q: %w", line, jerr)
		}
	}
	sc := bufio.NewScanner(strings.NewReader(r.stderr))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "hoist-maxrss-kb "); ok {
			r.rssKB, _ = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	if err != nil || r.rep.Status != "ok" {
		return r, fmt.Errorf("hoist %s: %v %s %s", strings.Join(args, " "), err, r.rep.Error, r.stderr)
	}
	return r, nil
}

// shards runs the sync's shards at once and prints each shard's line and
// the wall time of the slowest.
func shards(ctx context.Context, c config, dir, name string, print bool) ([]result, error) {
	res := make([]result, c.shards)
	errs := make([]error, c.shards)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range c.shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i], errs[i] = hoist(ctx, c, dir, "--sync", name, "--shard", fmt.Sprintf("%d/%d", i, c.shards))
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var read, delivered int64
	for _, r := range res {
		read += r.rep.RowsRead + r.rep.Removed
		delivered += r.rep.Delivered
		if print {
			fmt.Printf("  shard %-5s %9.1f s  rows from PostgreSQL %10d  delivered %10d  peak RSS %6.0f MiB\n",
				r.rep.Shard, r.wall.Seconds(), r.rep.RowsRead+r.rep.Removed, r.rep.Delivered, float64(r.rssKB)/1024)
		}
	}
	if print {
		fmt.Printf("  all shards %9.1f s  rows from PostgreSQL %10d  delivered %10d\n", wall.Seconds(), read, delivered)
	}
	return res, nil
}

// compare times the unsharded warehouse diff against the client-side diff
// of the same change, each into its own table.
func compare(ctx context.Context, pool *pgxpool.Pool, c config, dir string) error {
	fmt.Println("\nunsharded, warehouse diff against client-side diff (each into its own table):")
	for _, s := range []string{"scale_wh", "scale_client"} {
		if _, err := hoist(ctx, c, dir, "--sync", s); err != nil {
			return err
		}
	}
	changed, err := change(ctx, pool, c, 2)
	if err != nil {
		return err
	}
	fmt.Printf("  %d rows changed\n", changed)
	// interleaved: the first to run must not pay for a cold cache alone
	for _, s := range []string{"scale_client", "scale_wh"} {
		r, err := hoist(ctx, c, dir, "--sync", s)
		if err != nil {
			return err
		}
		engine := "client-side diff"
		if s == "scale_wh" {
			engine = "warehouse diff  "
		}
		fmt.Printf("  %s %7.1f s  rows from PostgreSQL %10d  delivered %8d  peak RSS %6.0f MiB\n",
			engine, r.wall.Seconds(), r.rep.RowsRead+r.rep.Removed, r.rep.Delivered, float64(r.rssKB)/1024)
	}
	if c.verify {
		for _, t := range []string{"bench_dst_wh", "bench_dst_client"} {
			if err := same(ctx, pool, c.schema, t); err != nil {
				return err
			}
		}
		fmt.Println("  both destinations equal bench_src")
	}
	return nil
}

func specText(c config) string {
	return fmt.Sprintf(`version: 1
state: %[1]s&hoist_schema=%[2]s_state
connections:
  pg: {type: postgres, url: "%[1]s"}
syncs:
  - name: scale
    source: {connection: pg, table: %[2]s.bench_src}
    destination: {connection: pg, object: %[2]s.bench_dst, mode: mirror, primary_key: [id], create_table: true}
    diff: warehouse
  - name: scale_wh
    source: {connection: pg, table: %[2]s.bench_src}
    destination: {connection: pg, object: %[2]s.bench_dst_wh, mode: mirror, primary_key: [id], create_table: true}
    diff: warehouse
  - name: scale_client
    source: {connection: pg, table: %[2]s.bench_src}
    destination: {connection: pg, object: %[2]s.bench_dst_client, mode: mirror, primary_key: [id], create_table: true}
`, withParams(c.url), c.schema)
}

// withParams makes sure the URL takes &key=value.
func withParams(u string) string {
	if strings.Contains(u, "?") {
		return u
	}
	return u + "?sslmode=disable"
}

// genSource makes bench_src as bench/postgres/table.sh does.
func genSource(ctx context.Context, pool *pgxpool.Pool, c config) error {
	s := ident(c.schema)
	return exec0(ctx, pool,
		"DROP SCHEMA IF EXISTS "+s+" CASCADE", "DROP SCHEMA IF EXISTS "+ident(c.schema+"_state")+" CASCADE", "CREATE SCHEMA "+s,
		"CREATE TABLE "+s+`.bench_src (id bigint PRIMARY KEY, email text, name text, country text, age int,
			balance numeric(12,2), active bool, updated_at timestamptz, attrs jsonb, note text)`,
		fmt.Sprintf("INSERT INTO "+s+`.bench_src SELECT g, 'user' || g || '@example.com', 'Name ' || md5(g::text),
			(ARRAY['US','DE','FR','JP','BR','IN'])[1 + g %% 6], 18 + g %% 70, round((g %% 100000) * 1.37, 2),
			g %% 3 = 0, '2025-01-01 00:00:00+00'::timestamptz + g * interval '1 second',
			jsonb_build_object('plan', (ARRAY['free','pro','team'])[1 + g %% 3], 'score', g %% 1000),
			substr(md5(g::text) || md5((g + 1)::text), 1, 50)
			FROM generate_series(1, %d) g`, c.rows),
		"VACUUM ANALYZE "+s+".bench_src")
}

// change updates a share of the rows (a different set each round).
func change(ctx context.Context, pool *pgxpool.Pool, c config, round int) (int64, error) {
	every := int(1 / c.change)
	tag, err := pool.Exec(ctx, fmt.Sprintf("UPDATE %s.bench_src SET balance = balance + 1, updated_at = now() WHERE id %% %d = %d", ident(c.schema), every, round))
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), exec0(ctx, pool, "VACUUM ANALYZE "+ident(c.schema)+".bench_src")
}

func same(ctx context.Context, pool *pgxpool.Pool, schema, table string) error {
	s := ident(schema)
	var n int64
	err := pool.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM ((SELECT * FROM %[1]s.bench_src EXCEPT ALL SELECT * FROM %[1]s.%[2]s)
		UNION ALL (SELECT * FROM %[1]s.%[2]s EXCEPT ALL SELECT * FROM %[1]s.bench_src)) d`, s, ident(table))).Scan(&n)
	if err != nil {
		return err
	}
	if n != 0 {
		return fmt.Errorf("%s differs from bench_src in %d rows", table, n)
	}
	return nil
}

func exec0(ctx context.Context, pool *pgxpool.Pool, sqls ...string) error {
	for _, q := range sqls {
		if _, err := pool.Exec(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", strings.SplitN(q, "\n", 2)[0], err)
		}
	}
	return nil
}

func ident(s string) string { return pgx.Identifier{s}.Sanitize() }

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// redact hides a password in the URL.
func redact(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	at := strings.LastIndexByte(rest, '@')
	if !ok || at < 0 {
		return u
	}
	if user, _, pw := strings.Cut(rest[:at], ":"); pw {
		return scheme + "://" + user + ":****@" + rest[at+1:]
	}
	return u
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n  ")
}
