// Package mysqltest gives integration tests a MySQL/MariaDB database of
// their own.
//
// The server comes from HOIST_TEST_MYSQL_URL (default: local root without a
// password). When it is unreachable tests skip, unless
// HOIST_REQUIRE_SERVICES=1.
package mysqltest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hoist-dev/hoist/internal/mysqlconn"
)

// DefaultURL is used when HOIST_TEST_MYSQL_URL is unset.
const DefaultURL = "mysql://root@127.0.0.1:3306/test"

// DB is one test's database.
type DB struct {
	// URL connects to Name, so unqualified table names land in it.
	URL  string
	Name string
	// DB is a pool on URL; times read as the server's text.
	DB *sql.DB
}

var unsafe = regexp.MustCompile(`[^a-z0-9_]+`)

// BaseURL is the server the tests use.
func BaseURL() string {
	if u := os.Getenv("HOIST_TEST_MYSQL_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// New creates a uniquely named database and drops it when the test ends.
func New(t testing.TB) *DB {
	t.Helper()
	base := BaseURL()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	admin, err := mysqlconn.Connect(ctx, base, mysqlconn.Options{MaxConns: 1})
	if err != nil {
		if os.Getenv("HOIST_REQUIRE_SERVICES") == "1" {
			t.Fatalf("mysql unreachable (HOIST_REQUIRE_SERVICES=1): %v", err)
		}
		t.Skipf("mysql unreachable, skipping: %v", err)
	}
	defer admin.Close()
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	name := unsafe.ReplaceAllString(strings.ToLower(t.Name()), "_")
	if len(name) > 40 {
		name = name[:40]
	}
	name = "t_" + name + "_" + hex.EncodeToString(rnd[:])
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+mysqlconn.Col(name)+" CHARACTER SET utf8mb4"); err != nil {
		t.Fatalf("create database: %v", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", mysqlconn.Redact(base), err)
	}
	u.Path = "/" + name
	db, err := mysqlconn.Connect(ctx, u.String(), mysqlconn.Options{TextTimes: true})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() {
		db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := mysqlconn.Connect(ctx, base, mysqlconn.Options{MaxConns: 1})
		if err != nil {
			t.Errorf("drop database %s: %v", name, err)
			return
		}
		defer c.Close()
		if _, err := c.ExecContext(ctx, "DROP DATABASE IF EXISTS "+mysqlconn.Col(name)); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	return &DB{URL: u.String(), Name: name, DB: db}
}

// Exec runs statements, failing the test on error.
func (db *DB) Exec(t testing.TB, sqls ...string) {
	t.Helper()
	for _, s := range sqls {
		if _, err := db.DB.ExecContext(context.Background(), s); err != nil {
			t.Fatalf("exec %q: %v", s, err)
		}
	}
}

// Strings runs a query returning one column and collects it as text (NULL
// as "NULL").
func (db *DB) Strings(t testing.TB, query string, args ...any) []string {
	t.Helper()
	rows, err := db.DB.QueryContext(context.Background(), query, args...)
	if err != nil {
		t.Fatalf("query %q: %v", query, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v sql.NullString
		if err := rows.Scan(&v); err != nil {
			t.Fatalf("query %q: %v", query, err)
		}
		if !v.Valid {
			v.String = "NULL"
		}
		out = append(out, v.String)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("query %q: %v", query, err)
	}
	return out
}
