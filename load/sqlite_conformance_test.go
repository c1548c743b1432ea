package load_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/extract"
	"github.com/hoist-dev/hoist/internal/sqlitedb"
	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/load/loadtest"
	"github.com/hoist-dev/hoist/sync/spec"
)

// TestSQLiteConformance runs the destination suite against a database file
// of its own, read back through hoist's SQLite source.
func TestSQLiteConformance(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	conn := &spec.Connection{Name: "dest", Type: sqlitedb.Type, Config: &sqlitedb.Config{Path: "dest.db"}}
	db, err := sql.Open("sqlite", filepath.Join(dir, "dest.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	loadtest.Run(t, loadtest.Harness{
		Open: func(t *testing.T) load.Destination {
			d, err := load.Open(context.Background(), conn, dir)
			if err != nil {
				t.Fatal(err)
			}
			return d
		},
		Target: func(_ *testing.T, object, mode string, key []string, schema *arrow.Schema) load.Target {
			return load.Target{Dest: &spec.Dest{Connection: conn.Name, Object: object, Mode: mode, PrimaryKey: key, Config: &connector.SQLDest{CreateTable: true}}, Schema: schema}
		},
		Read: func(t *testing.T, object string, _ *arrow.Schema, mem memory.Allocator) []arrow.RecordBatch {
			var n int
			if err := db.QueryRow("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", object).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				return nil
			}
			return readSource(t, conn, dir, &spec.Source{Config: &connector.SQLSource{Query: "SELECT * FROM " + object}}, mem)
		},
		Modes: []string{spec.ModeInsert, spec.ModeUpdate, spec.ModeUpsert, spec.ModeMirror, spec.ModeAppend, spec.ModeReplace},
		// Not claimed: a uint64 past MaxInt64 is rejected (INTEGER is
		// signed), SQLite stores NaN as NULL and -0 as 0, and timestamps
		// are kept as text to the microsecond.
		Types: loadtest.Without(loadtest.AllTypes(), loadtest.Uint64, loadtest.FloatSpecial, loadtest.TimestampNanos),
		Reject: func(t *testing.T, object string) string {
			const bad = "refused by a CHECK constraint"
			if _, err := db.Exec(fmt.Sprintf(`CREATE TABLE %s (id INTEGER PRIMARY KEY, name TEXT CHECK (name <> '%s'), n INTEGER)`, object, bad)); err != nil {
				t.Fatal(err)
			}
			return bad
		},
	})
}

// readSource reads every record of a source through hoist's extract
// package, retained for the caller.
func readSource(t *testing.T, conn *spec.Connection, dir string, src *spec.Source, mem memory.Allocator) []arrow.RecordBatch {
	t.Helper()
	ctx := context.Background()
	s, err := extract.Open(ctx, conn, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	return readAll(t, s, src, mem)
}

func readAll(t *testing.T, s extract.Source, src *spec.Source, mem memory.Allocator) []arrow.RecordBatch {
	t.Helper()
	rr, err := s.Read(context.Background(), extract.Request{Sync: "conformance", Source: src, Alloc: mem})
	if err != nil {
		t.Fatalf("read back: %v", err)
	}
	defer rr.Release()
	var out []arrow.RecordBatch
	for rr.Next() {
		rec := rr.RecordBatch()
		rec.Retain()
		out = append(out, rec)
	}
	if err := rr.Err(); err != nil {
		t.Fatalf("read back: %v", err)
	}
	return out
}
