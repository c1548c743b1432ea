// Package mqtttest gives tests topics of their own on the MQTT broker at
// HOIST_TEST_MQTT_URL (default tcp://127.0.0.1:1883), or on a Mosquitto of
// the test's own (NewPrivate), and reads them as a subscriber would: an
// MQTT 5 client subscribed to the test's topics collects every message in
// order. Retained messages it leaves behind on the shared broker are cleared
// when the test ends. An unreachable broker skips the test, unless
// HOIST_REQUIRE_SERVICES=1.
package mqtttest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/url"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/hoist-dev/hoist/internal/streamtest"
)

// DefaultURL is used when HOIST_TEST_MQTT_URL is unset.
const DefaultURL = "tcp://127.0.0.1:1883"

// URL is the broker the tests use.
func URL() string { return streamtest.Env("HOIST_TEST_MQTT_URL", DefaultURL) }

// Msg is one message a subscriber received.
type Msg struct {
	Topic   string
	Payload []byte
	Retain  bool
	Props   map[string]string
}

// Broker is one test's handle on the broker.
type Broker struct {
	URL    string
	Prefix string // unique to the test: every topic it uses starts with it
	c      *paho.Client
	qos    byte // of the subscription, and of the Sync marker
	// private: the test's own broker (NewPrivate), which stops with the
	// test and its retained messages with it
	private bool

	mu   stdsync.Mutex
	msgs []Msg
	seen chan string
}

// receiveHook, when a test of this package sets it, runs before the next
// Broker's subscriber takes each message: it can hold the subscriber back.
var receiveHook func()

// New connects a subscriber to the shared broker.
func New(t testing.TB) *Broker {
	t.Helper()
	return connect(t, URL(), false)
}

// dial opens a TCP connection to the broker at raw, for an MQTT client.
func dial(t testing.TB, raw string) net.Conn {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		streamtest.Require(t, "mqtt", raw, err)
	}
	return conn
}

// connect subscribes a client to a fresh prefix of the broker at raw: at
// QoS 1 on a private broker, at QoS 0 on the shared one (see Subscribe
// below).
func connect(t testing.TB, raw string, private bool) *Broker {
	t.Helper()
	conn := dial(t, raw)
	var rnd [4]byte
	rand.Read(rnd[:])
	b := &Broker{URL: raw, Prefix: "hoisttest/" + hex.EncodeToString(rnd[:]), private: private, seen: make(chan string, 16)}
	if private {
		b.qos = 1
	}
	hook := receiveHook
	b.c = paho.NewClient(paho.ClientConfig{Conn: conn, OnPublishReceived: []func(paho.PublishReceived) (bool, error){
		func(pr paho.PublishReceived) (bool, error) {
			if hook != nil {
				hook()
			}
			p := pr.Packet
			m := Msg{Topic: p.Topic, Payload: append([]byte(nil), p.Payload...), Retain: p.Retain, Props: map[string]string{}}
			if p.Properties != nil {
				for _, up := range p.Properties.User {
					m.Props[up.Key] = up.Value
				}
			}
			if strings.HasSuffix(p.Topic, "/hoisttest-sync") {
				b.seen <- string(p.Payload)
				return true, nil
			}
			b.mu.Lock()
			b.msgs = append(b.msgs, m)
			b.mu.Unlock()
			return true, nil
		}}})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := b.c.Connect(ctx, &paho.Connect{ClientID: "hoisttest-" + hex.EncodeToString(rnd[:]), CleanStart: true, KeepAlive: 30}); err != nil {
		streamtest.Require(t, "mqtt", raw, err)
	}
	// On the shared broker, QoS 0 on the subscription, though hoist
	// publishes at QoS 1: Mosquitto keeps at most max_inflight_messages (20)
	// + max_queued_messages (1,000) QoS 1 messages for a subscriber that
	// falls behind and drops the rest; QoS 0 messages go straight to a
	// connected subscriber's socket queue and are dropped only once that
	// queue is full, so a subscriber that falls behind by less than that
	// sees every message, in order. Tests that publish many thousands of
	// messages at a -race consumer on a loaded machine can still lose some:
	// they use NewPrivate, whose queue is unlimited, at QoS 1 (the broker
	// then paces the subscriber by its acknowledgements rather than pushing
	// everything at its socket).
	if _, err := b.c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: b.Prefix + "/#", QoS: b.qos, RetainAsPublished: true}}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if private {
			b.c.Disconnect(&paho.Disconnect{})
			return
		}
		// clear what the test left retained: an empty retained message
		b.mu.Lock()
		done := map[string]bool{}
		var topics []string
		for _, m := range b.msgs {
			if m.Retain && !done[m.Topic] {
				done[m.Topic] = true
				topics = append(topics, m.Topic)
			}
		}
		b.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		var wg stdsync.WaitGroup
		sem := make(chan struct{}, 64)
		for _, tp := range topics {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				b.c.Publish(ctx, &paho.Publish{Topic: tp, QoS: 1, Retain: true})
			}()
		}
		wg.Wait()
		b.c.Disconnect(&paho.Disconnect{})
	})
	return b
}

// Count is how many messages the subscriber has received so far.
func (b *Broker) Count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.msgs)
}

// Topic is the test's topic of name.
func (b *Broker) Topic(name string) string { return b.Prefix + "/" + name }

// Sync waits until every message the broker acknowledged before the call
// has reached the subscriber: a marker published after them arrives after
// them.
func (b *Broker) Sync(t testing.TB) {
	t.Helper()
	var rnd [4]byte
	rand.Read(rnd[:])
	mark := hex.EncodeToString(rnd[:])
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	// At the subscription's QoS: Mosquitto sends a QoS 0 message to a
	// connected client at once, and a QoS 1 one after the QoS 1 messages
	// queued before it, so a QoS 0 marker would overtake a QoS 1
	// subscription's queue. On the shared broker (QoS 0) a QoS 1 PUBACK
	// would also queue behind every message still on its way to this
	// client, and time out while a slow subscriber catches up.
	if _, err := b.c.Publish(ctx, &paho.Publish{Topic: b.Prefix + "/hoisttest-sync", QoS: b.qos, Payload: []byte(mark)}); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case got := <-b.seen:
			if got == mark {
				return
			}
		case <-ctx.Done():
			t.Fatal("the subscriber never saw the sync marker")
		}
	}
}

// Messages returns what the subscriber received on topic (and below it).
func (b *Broker) Messages(t testing.TB, topic string) []Msg {
	t.Helper()
	b.Sync(t)
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []Msg
	for _, m := range b.msgs {
		if m.Topic == topic || strings.HasPrefix(m.Topic, topic+"/") {
			out = append(out, m)
		}
	}
	return out
}

// View materialises topic from the messages received on it.
func (b *Broker) View(t testing.TB, topic string, bare bool) *streamtest.View {
	t.Helper()
	v := streamtest.NewView()
	v.Bare = bare
	for i, m := range b.Messages(t, topic) {
		sm := streamtest.Msg{Value: m.Payload, Op: m.Props["hoist-op"], ID: m.Props["hoist-id"]}
		if k := m.Props["hoist-key"]; k != "" {
			sm.Key = []byte(k)
		}
		if err := v.Apply(sm); err != nil {
			t.Fatalf("topic %s message %d: %v", topic, i, err)
		}
	}
	return v
}

// Retained subscribes a fresh client to topic/# and returns the retained
// messages the broker holds there, by topic: what a device connecting now
// gets.
func (b *Broker) Retained(t testing.TB, topic string) map[string][]byte {
	t.Helper()
	u, _ := url.Parse(b.URL)
	conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var mu stdsync.Mutex
	got := map[string][]byte{}
	mark := make(chan struct{}, 1)
	c := paho.NewClient(paho.ClientConfig{Conn: conn, OnPublishReceived: []func(paho.PublishReceived) (bool, error){
		func(pr paho.PublishReceived) (bool, error) {
			if pr.Packet.Topic == topic+"/hoisttest-retained-mark" {
				mark <- struct{}{}
				return true, nil
			}
			mu.Lock()
			got[pr.Packet.Topic] = append([]byte(nil), pr.Packet.Payload...)
			mu.Unlock()
			return true, nil
		}}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var rnd [4]byte
	rand.Read(rnd[:])
	if _, err := c.Connect(ctx, &paho.Connect{ClientID: "hoisttest-r-" + hex.EncodeToString(rnd[:]), CleanStart: true, KeepAlive: 30}); err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(&paho.Disconnect{})
	if _, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: topic + "/#", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	// retained messages are sent on subscribe, before a message published after the SUBACK
	if _, err := c.Publish(ctx, &paho.Publish{Topic: topic + "/hoisttest-retained-mark", QoS: 1}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-mark:
	case <-ctx.Done():
		t.Fatal("never saw the retained marker")
	}
	mu.Lock()
	defer mu.Unlock()
	return got
}
