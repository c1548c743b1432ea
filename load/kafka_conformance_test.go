package load_test

import (
	"context"
	"fmt"
	"strings"
	stdsync "sync"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/internal/kafkaconn"
	"github.com/hoist-dev/hoist/internal/kafkatest"
	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/load/loadtest"
	"github.com/hoist-dev/hoist/sync/spec"
)

// kafkaTestMax is the harness's max_message_bytes and its topics'
// max.message.bytes: above a 1 MiB value's envelope, below the reject
// check's names.
const kafkaTestMax = 2_000_000

// TestKafkaConformance runs the destination suite against franz-go's fake
// cluster (three brokers, three partitions a topic) over the wire: each
// object is a topic, read back by a franz-go consumer as a materialised
// view (last record per key, tombstones applied). The reject check's
// names make records larger than max_message_bytes, which the client
// refuses one by one, as the brokers would.
func TestKafkaConformance(t *testing.T) {
	kc := kafkatest.New(t)
	var runs atomic.Int64
	var mu stdsync.Mutex
	made := map[string]bool{}
	conn := &spec.Connection{Name: "dest", Type: kafkaconn.Type, Config: &kafkaconn.Config{Brokers: kc.Addrs, MaxMessageBytes: kafkaTestMax}}
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
			if !made[object] {
				kc.MustCreateTopic(t, object, 3, map[string]string{"max.message.bytes": fmt.Sprint(kafkaTestMax + 1000)})
				made[object] = true
			}
			mu.Unlock()
			return load.Target{RunID: fmt.Sprintf("run-%d", runs.Add(1)), Dest: &spec.Dest{Connection: conn.Name, Object: object, Mode: mode, PrimaryKey: key,
				Config: &load.KafkaDest{}}, Schema: schema}
		},
		Read: func(t *testing.T, object string, schema *arrow.Schema, mem memory.Allocator) []arrow.RecordBatch {
			return kc.View(t, object, false).Records(t, schema, mem)
		},
		Modes: []string{spec.ModeInsert, spec.ModeUpsert, spec.ModeMirror, spec.ModeAppend},
		// JSON has no NaN, infinities or -0
		Types: loadtest.Without(loadtest.AllTypes(), loadtest.FloatSpecial),
		Reject: func(t *testing.T, object string) string {
			return strings.Repeat("larger than max_message_bytes ", kafkaTestMax/25)
		},
	})
}
