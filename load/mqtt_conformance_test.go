package load_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/internal/mqttconn"
	"github.com/hoist-dev/hoist/internal/mqtttest"
	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/load/loadtest"
	"github.com/hoist-dev/hoist/sync/spec"
)

// TestMQTTConformance runs the destination suite against the local
// Mosquitto, once per protocol version: each object is a topic, read back
// by an MQTT 5 subscriber as a materialised view. Mosquitto refuses no
// single message here (no ACLs, no size limit), so the reject checks are
// skipped; a PUBACK failure reason is mapped like every broker's refusal.
func TestMQTTConformance(t *testing.T) {
	for _, version := range []string{mqttconn.V5, mqttconn.V311} {
		t.Run("v"+version, func(t *testing.T) {
			b := mqtttest.New(t)
			var runs atomic.Int64
			conn := &spec.Connection{Name: "dest", Type: mqttconn.Type, Config: &mqttconn.Config{URL: b.URL, ProtocolVersion: version}}
			loadtest.Run(t, loadtest.Harness{
				Open: func(t *testing.T) load.Destination {
					d, err := load.Open(context.Background(), conn, "")
					if err != nil {
						t.Fatal(err)
					}
					return d
				},
				Target: func(t *testing.T, object, mode string, key []string, schema *arrow.Schema) load.Target {
					return load.Target{RunID: fmt.Sprintf("run-%d", runs.Add(1)), Dest: &spec.Dest{Connection: conn.Name, Object: object, Mode: mode, PrimaryKey: key,
						Config: &load.MQTTDest{Topic: b.Prefix + "/{{.Object}}"}}, Schema: schema}
				},
				Read: func(t *testing.T, object string, schema *arrow.Schema, mem memory.Allocator) []arrow.RecordBatch {
					return b.View(t, b.Topic(object), false).Records(t, schema, mem)
				},
				Modes: []string{spec.ModeInsert, spec.ModeUpsert, spec.ModeMirror, spec.ModeAppend},
				Types: loadtest.Without(loadtest.AllTypes(), loadtest.FloatSpecial),
			})
		})
	}
}
