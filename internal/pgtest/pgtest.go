// Package pgtest gives integration tests a PostgreSQL schema of their own.
//
// The server comes from HOIST_TEST_POSTGRES_URL (default: local trust auth).
// When it is unreachable tests skip, unless HOIST_REQUIRE_SERVICES=1.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultURL is used when HOIST_TEST_POSTGRES_URL is unset.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// DB is one test's schema.
type DB struct {
	// URL connects with search_path set to Schema, so unqualified names
	// land in it.
	URL    string
	Schema string
	Pool   *pgxpool.Pool
}

var unsafe = regexp.MustCompile(`[^a-z0-9_]+`)

// New creates a uniquely named schema and drops it when the test ends,
// with any schema named after it plus "_…" (a state store's, say).
func New(t testing.TB) *DB {
	t.Helper()
	base := os.Getenv("HOIST_TEST_POSTGRES_URL")
	if base == "" {
		base = DefaultURL
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		if os.Getenv("HOIST_REQUIRE_SERVICES") == "1" {
			t.Fatalf("postgres unreachable (HOIST_REQUIRE_SERVICES=1): %v", err)
		}
		t.Skipf("postgres unreachable, skipping: %v", err)
	}
	defer admin.Close(context.Background())
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	name := unsafe.ReplaceAllString(strings.ToLower(t.Name()), "_")
	if len(name) > 40 {
		name = name[:40]
	}
	schema := "t_" + name + "_" + hex.EncodeToString(rnd[:])
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", base, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	pool, err := pgxpool.New(ctx, u.String())
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	db := &DB{URL: u.String(), Schema: schema, Pool: pool}
	t.Cleanup(func() {
		pool.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer c.Close(ctx)
		// the test's schema and its companions named <schema>_… (a state
		// store's schema, say), which the code under test creates
		rows, err := c.Query(ctx, `SELECT nspname FROM pg_namespace WHERE nspname = $1 OR starts_with(nspname, $1 || '_')`, schema)
		if err != nil {
			t.Errorf("list schemas of %s: %v", schema, err)
			return
		}
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Errorf("list schemas of %s: %v", schema, err)
			return
		}
		for _, name := range names {
			if _, err := c.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{name}.Sanitize()+" CASCADE"); err != nil {
				t.Errorf("drop schema %s: %v", name, err)
			}
		}
	})
	return db
}

// Exec runs statements, failing the test on error.
func (db *DB) Exec(t testing.TB, sqls ...string) {
	t.Helper()
	for _, s := range sqls {
		if _, err := db.Pool.Exec(context.Background(), s); err != nil {
			t.Fatalf("exec %q: %v", s, err)
		}
	}
}

// Strings runs a query returning one text column and collects it.
func (db *DB) Strings(t testing.TB, sql string, args ...any) []string {
	t.Helper()
	rows, err := db.Pool.Query(context.Background(), sql, args...)
	if err != nil {
		t.Fatalf("query %q: %v", sql, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("query %q: %v", sql, err)
	}
	return out
}
