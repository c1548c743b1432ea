package load_test

import (
	"context"
	"fmt"
	stdsync "sync"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/internal/amqpconn"
	"github.com/hoist-dev/hoist/internal/amqptest"
	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/load/loadtest"
	"github.com/hoist-dev/hoist/sync/spec"
)

// TestAMQPConformance runs the destination suite against the local
// RabbitMQ: each object is a durable queue, published to through the
// default exchange (routing key = queue name) and read back as a consumer's
// materialised view. RabbitMQ refuses messages by queue state (length
// limits), not by content, so the reject checks are skipped here and
// TestAMQPRefused covers nacks and returns.
func TestAMQPConformance(t *testing.T) {
	b := amqptest.New(t)
	var runs atomic.Int64
	var mu stdsync.Mutex
	made := map[string]string{}
	conn := &spec.Connection{Name: "dest", Type: amqpconn.Type, Config: &amqpconn.Config{URL: spec.Secret(b.URL)}}
	loadtest.Run(t, loadtest.Harness{
		Open: func(t *testing.T) load.Destination {
			d, err := load.Open(context.Background(), conn, "")
			if err != nil {
				t.Fatal(err)
			}
			return d
		},
		Target: func(t *testing.T, object, mode string, key []string, schema *arrow.Schema) load.Target {
			mu.Lock()
			if made[object] == "" {
				made[object] = b.Queue(t, object, nil)
			}
			q := made[object]
			mu.Unlock()
			return load.Target{RunID: fmt.Sprintf("run-%d", runs.Add(1)), Dest: &spec.Dest{Connection: conn.Name, Object: object, Mode: mode, PrimaryKey: key,
				Config: &load.AMQPDest{RoutingKey: q}}, Schema: schema}
		},
		Read: func(t *testing.T, object string, schema *arrow.Schema, mem memory.Allocator) []arrow.RecordBatch {
			mu.Lock()
			q := made[object]
			mu.Unlock()
			if q == "" {
				return nil
			}
			return b.View(t, q, false).Records(t, schema, mem)
		},
		Modes: []string{spec.ModeInsert, spec.ModeUpsert, spec.ModeMirror, spec.ModeAppend},
		Types: loadtest.Without(loadtest.AllTypes(), loadtest.FloatSpecial),
	})
}
