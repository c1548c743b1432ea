package load

import (
	"context"
	"errors"
	"fmt"
	"strings"
	stdsync "sync"
	"unicode/utf8"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/internal/mqttconn"
	"github.com/hoist-dev/hoist/sync/spec"
)

// The mqtt destination publishes each row with QoS 1 and counts it
// delivered on its PUBACK. With retain: true each key's message goes
// retained to topic/<key> (the key's values joined by "/", each escaped to
// stay one level), so a device subscribing later gets every key's latest
// state at once, and a delete is an empty retained message, which clears
// it. MQTT 5 user properties carry hoist-sync, hoist-op, hoist-run-id,
// hoist-key and hoist-id; a PUBACK with a failure reason code (not
// authorised, quota exceeded) rejects that row. MQTT 3.1.1 has neither:
// the envelope (format: json) is then the only place the key and op are.

func init() {
	Register(mqttconn.Type, streamDestRole(func() connector.DestConfig { return &MQTTDest{} }), openMQTT)
}

// MQTTDest is an mqtt destination block.
type MQTTDest struct {
	StreamDest `yaml:",inline"`
	Topic      string `yaml:"topic" doc:"topic to publish to, a template as subject (default: object)"`
	Retain     bool   `yaml:"retain" doc:"publish each key's latest message retained on topic/<key>, and an empty retained message to delete (mqtt)"`
}

// Validate implements connector.DestConfig.
func (m *MQTTDest) Validate(d connector.Dest, p connector.Problems) {
	m.StreamDest.validate(p)
	validateStreamTopic("topic", m.Topic, d, p)
	if m.Retain && len(d.PrimaryKey) == 0 {
		p.Add("retain", "retain: true publishes on topic/<key>, which needs a primary_key")
	}
	c, _ := d.Conn.(*mqttconn.Config)
	if c != nil && c.Version() == mqttconn.V311 && m.FormatOrDefault() == StreamBare && !m.Retain && d.Mode == spec.ModeMirror {
		p.Add("format", "with MQTT 3.1.1 a bare delete cannot say which key it deletes (no user properties): use format: json or retain: true")
	}
}

func (m *MQTTDest) topicText() string  { return m.Topic }
func (m *MQTTDest) stream() StreamDest { return m.StreamDest }
func (m *MQTTDest) keyTopic() bool     { return m.Retain }

func openMQTT(ctx context.Context, conn *spec.Connection, _ string) (Destination, error) {
	cfg, err := connector.As[*mqttconn.Config](conn.Config)
	if err != nil {
		return nil, err
	}
	cl, err := cfg.Connect(ctx, conn.Name)
	if err != nil {
		return nil, err
	}
	return &streamDest{kind: mqttconn.Type, name: conn.Name, role: streamDestRole(nil),
		pub: &mqttPublisher{cl: cl, inflight: cfg.Inflight()}, opts: streamOptions{checkTopic: checkMQTTTopic}}, nil
}

type mqttPublisher struct {
	cl       mqttconn.Client
	inflight int
}

func (p *mqttPublisher) Close() error { return p.cl.Close() }

// Publish sends up to inflight messages at once and waits for every
// PUBACK; the first connection error fails the batch.
func (p *mqttPublisher) Publish(ctx context.Context, meta StreamMeta, msgs []StreamMsg) ([]error, error) {
	out := make([]error, len(msgs))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    stdsync.WaitGroup
		once  stdsync.Once
		fatal error
	)
	sem := make(chan struct{}, p.inflight)
	v5 := p.cl.V5()
	for i := range msgs {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			m := &msgs[i]
			pm := mqttconn.Message{Topic: m.Topic, Payload: m.Value, Retain: m.Retain}
			if v5 {
				pm.Props = [][2]string{{"hoist-sync", meta.Sync}, {"hoist-op", m.Op}, {"hoist-run-id", meta.RunID}, {"hoist-id", m.ID}}
				if m.Key != nil {
					pm.Props = append(pm.Props, [2]string{"hoist-key", string(m.Key)})
				}
			}
			refused, err := p.cl.Publish(ctx, pm)
			if err != nil {
				once.Do(func() { fatal = fmt.Errorf("publish to %s: %w", m.Topic, err); cancel() })
				return
			}
			out[i] = refused
		}()
	}
	wg.Wait()
	if fatal != nil {
		return nil, fatal
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// checkMQTTTopic refuses what a topic to publish to cannot be: empty,
// wildcards, NUL, invalid UTF-8, longer than 65535 bytes.
func checkMQTTTopic(s string) error {
	switch {
	case s == "":
		return errors.New("empty topic")
	case len(s) > 65535:
		return errors.New("a topic has at most 65535 bytes")
	case strings.ContainsAny(s, "+#\x00"):
		return errors.New("a topic to publish to cannot hold the wildcards + or #, or NUL")
	case !utf8.ValidString(s):
		return errors.New("a topic must be valid UTF-8")
	}
	return nil
}
