package load_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/extract"
	"github.com/hoist-dev/hoist/internal/pgconn"
	"github.com/hoist-dev/hoist/internal/pgtest"
	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/load/loadtest"
	"github.com/hoist-dev/hoist/sync/spec"
)

// TestPostgresConformance runs the destination suite against a schema of
// its own on the test server, read back through hoist's PostgreSQL source.
func TestPostgresConformance(t *testing.T) {
	db := pgtest.New(t)
	conn := &spec.Connection{Name: "dest", Type: pgconn.Type, Config: &pgconn.Config{URL: spec.Secret(db.URL)}}
	src := extract.NewPostgresSource(db.Pool) // not closed: it would close the test's pool
	loadtest.Run(t, loadtest.Harness{
		Open: func(t *testing.T) load.Destination {
			d, err := load.Open(context.Background(), conn, "")
			if err != nil {
				t.Fatal(err)
			}
			return d
		},
		Target: func(_ *testing.T, object, mode string, key []string, schema *arrow.Schema) load.Target {
			return load.Target{Dest: &spec.Dest{Connection: conn.Name, Object: object, Mode: mode, PrimaryKey: key, Config: &connector.SQLDest{CreateTable: true}}, Schema: schema}
		},
		Read: func(t *testing.T, object string, _ *arrow.Schema, mem memory.Allocator) []arrow.RecordBatch {
			if got := db.Strings(t, "SELECT coalesce(to_regclass($1)::text, '')", object); got[0] == "" {
				return nil
			}
			return readAll(t, src, &spec.Source{Config: &connector.SQLSource{Table: object}}, mem)
		},
		Modes: []string{spec.ModeInsert, spec.ModeUpdate, spec.ModeUpsert, spec.ModeMirror, spec.ModeAppend, spec.ModeReplace},
		// timestamp columns hold microseconds: nanoseconds are cut off
		Types: loadtest.Without(loadtest.AllTypes(), loadtest.TimestampNanos),
		Reject: func(t *testing.T, object string) string {
			const bad = "refused by a CHECK constraint"
			db.Exec(t, fmt.Sprintf(`CREATE TABLE %s (id bigint PRIMARY KEY, name text CHECK (name <> '%s'), n bigint)`, object, bad))
			return bad
		},
		ReplaceBlocksReaders: true,
	})
}
