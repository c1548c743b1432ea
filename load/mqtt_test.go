package load_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/hoist-dev/hoist/internal/mqttconn"
	"github.com/hoist-dev/hoist/internal/mqtttest"
	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/sync/spec"
)

func openMQTTWriter(t *testing.T, b *mqtttest.Broker, version string, dest *load.MQTTDest, mode string) (load.Destination, load.Writer) {
	t.Helper()
	conn := &spec.Connection{Name: "m", Type: mqttconn.Type, Config: &mqttconn.Config{URL: b.URL, ProtocolVersion: version}}
	d, err := load.Open(context.Background(), conn, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	rec := idRecord(t, 1)
	defer rec.Release()
	w, err := d.Open(context.Background(), load.Target{Sync: "s", RunID: "r1", Schema: rec.Schema(),
		Dest: &spec.Dest{Object: "o", Mode: mode, PrimaryKey: []string{"id"}, Config: dest}})
	if err != nil {
		t.Fatal(err)
	}
	return d, w
}

// TestMQTTRetain mirrors keys with retain: true: each key's latest message
// is retained on topic/<key>, a delete clears it (an empty retained
// message), so a device connecting afterwards gets exactly the live keys.
func TestMQTTRetain(t *testing.T) {
	for _, version := range []string{mqttconn.V5, mqttconn.V311} {
		t.Run("v"+version, func(t *testing.T) {
			b := mqtttest.New(t)
			topic := b.Topic("devices")
			_, w := openMQTTWriter(t, b, version, &load.MQTTDest{Topic: topic, Retain: true}, spec.ModeMirror)
			rec := idRecord(t, 1, 2, 3)
			defer rec.Release()
			if res, err := w.Write(context.Background(), load.Batch{Op: load.OpUpsert, Record: rec}); err != nil || len(res.Failed) > 0 {
				t.Fatal(err, res.Failed)
			}
			del := keyOnlyRecord(t, 2)
			defer del.Release()
			if res, err := w.Write(context.Background(), load.Batch{Seq: 1, Op: load.OpDelete, Record: del}); err != nil || len(res.Failed) > 0 {
				t.Fatal(err, res.Failed)
			}
			b.Sync(t)
			got := b.Retained(t, topic)
			if len(got) != 2 || got[topic+"/1"] == nil || got[topic+"/3"] == nil {
				t.Fatalf("retained: %v", topicsOf(got))
			}
			var env map[string]any
			if err := json.Unmarshal(got[topic+"/3"], &env); err != nil || env["op"] != "upsert" {
				t.Fatalf("retained message %s: %v", got[topic+"/3"], err)
			}
		})
	}
}

func topicsOf(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestMQTTRefusedRows: MQTT 5 brokers answer a publish they refuse with a
// PUBACK reason code; Mosquitto refuses publishes to $SYS (0x87, not
// authorised). A topic template sending one row there rejects that row
// alone, naming the reason; the others are delivered.
func TestMQTTRefusedRows(t *testing.T) {
	b := mqtttest.New(t)
	topic := b.Topic("refused")
	tmpl := `{{if eq .Key "2"}}$SYS/hoisttest{{else}}` + topic + `{{end}}`
	_, w := openMQTTWriter(t, b, mqttconn.V5, &load.MQTTDest{Topic: tmpl}, spec.ModeUpsert)
	rec := idRecord(t, 1, 2, 3)
	defer rec.Release()
	res, err := w.Write(context.Background(), load.Batch{Op: load.OpUpsert, Record: rec})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Failed) != 1 || res.Failed[0].Row != 1 || !strings.Contains(res.Failed[0].Msg, "0x87") {
		t.Fatalf("failed: %+v", res.Failed)
	}
	if v := b.View(t, topic, false); v.Len() != 2 || v.Get(`{"id":2}`) != nil {
		t.Fatalf("view: %d rows", v.Len())
	}
}

// TestMQTTConnectionLost fails the batch, not its rows.
func TestMQTTConnectionLost(t *testing.T) {
	for _, version := range []string{mqttconn.V5, mqttconn.V311} {
		b := mqtttest.New(t)
		d, w := openMQTTWriter(t, b, version, &load.MQTTDest{Topic: b.Topic("lost")}, spec.ModeUpsert)
		d.Close()
		rec := idRecord(t, 1, 2)
		res, err := w.Write(context.Background(), load.Batch{Op: load.OpUpsert, Record: rec})
		rec.Release()
		if err == nil || len(res.Failed) > 0 {
			t.Fatalf("v%s: write after the connection closed: %v %+v", version, err, res.Failed)
		}
	}
}
