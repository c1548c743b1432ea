package load_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/extract"
	"github.com/hoist-dev/hoist/internal/mysqlconn"
	"github.com/hoist-dev/hoist/internal/mysqltest"
	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/load/loadtest"
	"github.com/hoist-dev/hoist/sync/spec"
)

// TestMySQLConformance runs the destination suite against a database of its
// own on the MariaDB test server, opened from its spec connection as a user's
// run opens it, and read back through hoist's MySQL source (create_table
// makes a bool column TINYINT(1), read back as bool when asked).
func TestMySQLConformance(t *testing.T) {
	db := mysqltest.New(t)
	conn := &spec.Connection{Name: "dest", Type: mysqlconn.Type, Config: &mysqlconn.Config{URL: spec.Secret(db.URL)}}
	src := extract.NewMySQLSource(db.DB)
	loadtest.Run(t, loadtest.Harness{
		Open: func(t *testing.T) load.Destination {
			d, err := load.Open(context.Background(), conn, "")
			if err != nil {
				t.Fatal(err)
			}
			return d
		},
		Target: func(_ *testing.T, object, mode string, key []string, schema *arrow.Schema) load.Target {
			return load.Target{Dest: &spec.Dest{Connection: conn.Name, Object: object, Mode: mode, PrimaryKey: key,
				Config: &connector.SQLDest{CreateTable: true}}, Schema: schema}
		},
		Read: func(t *testing.T, object string, _ *arrow.Schema, mem memory.Allocator) []arrow.RecordBatch {
			n := db.Strings(t, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?", object)
			if n[0] == "0" {
				return nil
			}
			return readAll(t, src, &spec.Source{Config: &extract.MySQLSource{SQLSource: connector.SQLSource{Table: object}, TinyInt1AsBool: true}}, mem)
		},
		Modes: []string{spec.ModeInsert, spec.ModeUpdate, spec.ModeUpsert, spec.ModeMirror, spec.ModeAppend, spec.ModeReplace},
		// DATETIME(6) holds microseconds; a DOUBLE holds no NaN or infinity
		// (such rows are rejected, naming the column) and no -0
		Types: loadtest.Without(loadtest.AllTypes(), loadtest.TimestampNanos, loadtest.FloatSpecial),
		Reject: func(t *testing.T, object string) string {
			const bad = "refused by a CHECK constraint"
			db.Exec(t, fmt.Sprintf("CREATE TABLE `%s` (id BIGINT PRIMARY KEY, name TEXT CHECK (name <> '%s'), n BIGINT)", object, bad))
			return bad
		},
	})
}
