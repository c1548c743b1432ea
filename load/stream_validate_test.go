package load_test

import (
	"strings"
	"testing"

	"github.com/hoist-dev/hoist/sync/spec"
)

// TestStreamSpecValidation holds the stream connections' and destination
// blocks' validation to what validate prints: file, line, field and a
// reason, for each broker, and no secret in any of it.
func TestStreamSpecValidation(t *testing.T) {
	for _, tc := range []struct {
		name, conn, dest string
		want             []string
	}{
		{"nats ok", `{type: nats, url: "nats://127.0.0.1:4222"}`, `mode: mirror, primary_key: [id], subject: "a.{{.Key}}"`, nil},
		{"nats bad url and auth", `{type: nats, url: "http://x", token: t0ken-value, user: u, password: s3cret-pw}`, `mode: upsert, primary_key: [id], object: a`,
			[]string{"hoist.yaml:4: connections.bus.url: url must be nats://", "hoist.yaml:4: connections.bus: set one of creds_file, user and password, or token"}},
		{"replace refused", `{type: nats, url: "nats://h:1"}`, `mode: replace, object: a`, []string{"syncs[0].destination.mode: mode replace cannot be done on a stream"}},
		{"update refused", `{type: kafka, brokers: ["h:9092"]}`, `mode: update, primary_key: [id], object: a`, []string{"syncs[0].destination.mode: mode update needs to know whether the destination holds a key"}},
		{"no topic", `{type: kafka, brokers: ["h:9092"]}`, `mode: upsert, primary_key: [id]`, []string{"syncs[0].destination.topic: set topic or destination.object"}},
		{"kafka bad keys", `{type: kafka, brokers: [nohost], sasl: {mechanism: GSSAPI, user: u, password: s3cret-pw}, compression: brotli}`, `mode: upsert, primary_key: [id], topic: "t{{"`,
			[]string{"connections.bus.brokers[0]: \"nohost\" is not HOST:PORT", "connections.bus.sasl.mechanism: unknown mechanism \"GSSAPI\"", "connections.bus.compression: unknown compression", "syncs[0].destination.topic: invalid template"}},
		{"bad format", `{type: amqp, url: "amqp://guest:s3cret-pw@h:5672/"}`, `mode: append, format: avro, routing_key: k`, []string{"syncs[0].destination.format: unknown format \"avro\""}},
		{"before needs the envelope", `{type: nats, url: "nats://h:1"}`, `mode: mirror, primary_key: [id], subject: s, format: bare, before: true`, []string{"syncs[0].destination.before: before is a field of the envelope: it needs format json"}},
		{"mqtt retain needs a key", `{type: mqtt, url: "tcp://h:1883"}`, `mode: append, topic: t, retain: true`, []string{"syncs[0].destination.retain: retain: true publishes on topic/<key>, which needs a primary_key"}},
		{"mqtt 3.1.1 bare mirror", `{type: mqtt, url: "tcp://h:1883", protocol_version: "3.1.1"}`, `mode: mirror, primary_key: [id], topic: t, format: bare`, []string{"syncs[0].destination.format: with MQTT 3.1.1 a bare delete cannot say which key"}},
		{"mqtt bad url and version", `{type: mqtt, url: "http://h", protocol_version: "4"}`, `mode: upsert, primary_key: [id], topic: t`, []string{"connections.bus.url: url must be tcp://", "connections.bus.protocol_version: unknown protocol_version \"4\""}},
		{"typo", `{type: kafka, brokers: ["h:9092"]}`, `mode: upsert, primary_key: [id], topik: t`, []string{"syncs[0].destination.topik: unknown key (did you mean \"topic\"?)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := `version: 1
connections:
  src: {type: sqlite, path: src.db}
  bus: ` + tc.conn + `
syncs:
  - name: s
    source: {connection: src, table: t}
    destination: {connection: bus, ` + tc.dest + `}
`
			_, err := spec.Parse("hoist.yaml", []byte(text), func(string) (string, bool) { return "", false })
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("a valid spec fails: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			for _, secret := range []string{"s3cret-pw", "t0ken-value"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error prints a secret: %v", err)
				}
			}
		})
	}
}
