package load_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoist-dev/hoist/internal/natsconn"
	"github.com/hoist-dev/hoist/internal/natstest"
	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/load/loadtest"
	"github.com/hoist-dev/hoist/sync/spec"
)

// TestNATSConformance runs the destination suite against JetStream on the
// local server: each object is a subject with a stream of its own, read
// back as a consumer's materialised view (last message per key, deletes
// applied, inserts only for keys not held). The stream of a reject check
// has a max_msg_size, so the server refuses the messages of the rows
// holding a larger name, one by one in their PubAcks.
func TestNATSConformance(t *testing.T) {
	srv := natstest.New(t)
	var runs atomic.Int64 // every run has an id of its own, as the engine's
	conn := &spec.Connection{Name: "dest", Type: natsconn.Type, Config: &natsconn.Config{URL: spec.Secret(srv.URL)}}
	loadtest.Run(t, loadtest.Harness{
		Open: func(t *testing.T) load.Destination {
			d, err := load.Open(context.Background(), conn, "")
			if err != nil {
				t.Fatal(err)
			}
			return d
		},
		Target: func(t *testing.T, object, mode string, key []string, schema *arrow.Schema) load.Target {
			if !srv.HasStream(object) {
				srv.Stream(t, object)
			}
			return load.Target{RunID: fmt.Sprintf("run-%d", runs.Add(1)), Dest: &spec.Dest{Connection: conn.Name, Object: object, Mode: mode, PrimaryKey: key,
				Config: &load.NATSDest{Subject: srv.Prefix + ".{{.Object}}"}}, Schema: schema}
		},
		Read: func(t *testing.T, object string, schema *arrow.Schema, mem memory.Allocator) []arrow.RecordBatch {
			return srv.View(t, object, false).Records(t, schema, mem)
		},
		Modes: []string{spec.ModeInsert, spec.ModeUpsert, spec.ModeMirror, spec.ModeAppend},
		// JSON has no NaN, infinities or -0
		Types: loadtest.Without(loadtest.AllTypes(), loadtest.FloatSpecial),
		Reject: func(t *testing.T, object string) string {
			srv.Stream(t, object, func(c *jetstream.StreamConfig) { c.MaxMsgSize = 4096 })
			return strings.Repeat("too large for the stream ", 200)
		},
		Known: map[string]string{
			"values/a 1 MB value": "the NATS server's max_payload is 1 MiB by default: the envelope of a 1 MiB value is larger, and the message is rejected (raise max_payload on the server to carry it)",
		},
	})
}
