// Package amqptest gives tests queues of their own on the RabbitMQ at
// HOIST_TEST_AMQP_URL (default amqp://guest:guest@127.0.0.1:5672/),
// deleted when the test ends, and reads them as a consumer would. An
// unreachable broker skips the test, unless HOIST_REQUIRE_SERVICES=1.
package amqptest

import (
	"crypto/rand"
	"encoding/hex"
	stdsync "sync"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/hoist-dev/hoist/internal/streamtest"
)

// DefaultURL is used when HOIST_TEST_AMQP_URL is unset.
const DefaultURL = "amqp://guest:guest@127.0.0.1:5672/"

// URL is the broker the tests use.
func URL() string { return streamtest.Env("HOIST_TEST_AMQP_URL", DefaultURL) }

// Broker is one test's handle on the broker.
type Broker struct {
	URL    string
	Prefix string
	conn   *amqp.Connection
	ch     *amqp.Channel

	mu   stdsync.Mutex
	seen map[string][]amqp.Delivery // queue → every message read so far

	onCleanup func(queue, exchange string)
}

// New connects and deletes, when the test ends, the queues and exchanges
// it declared.
func New(t testing.TB) *Broker {
	t.Helper()
	url := URL()
	conn, err := amqp.Dial(url)
	if err != nil {
		streamtest.Require(t, "amqp", "the test broker", err)
	}
	ch, err := conn.Channel()
	if err != nil {
		conn.Close()
		t.Fatal(err)
	}
	var rnd [4]byte
	rand.Read(rnd[:])
	b := &Broker{URL: url, Prefix: "hoisttest_" + hex.EncodeToString(rnd[:]), conn: conn, ch: ch, seen: map[string][]amqp.Delivery{}}
	var queues, exchanges []string
	b.onCleanup = func(q, x string) {
		if q != "" {
			queues = append(queues, q)
		}
		if x != "" {
			exchanges = append(exchanges, x)
		}
	}
	t.Cleanup(func() {
		for _, q := range queues {
			if _, err := b.ch.QueueDelete(q, false, false, false); err != nil {
				t.Errorf("delete queue %s: %v", q, err)
			}
		}
		for _, x := range exchanges {
			b.ch.ExchangeDelete(x, false, false)
		}
		conn.Close()
	})
	return b
}

// Queue declares the durable queue Prefix.name (with args such as
// x-max-length) and returns its name.
func (b *Broker) Queue(t testing.TB, name string, args amqp.Table) string {
	t.Helper()
	q := b.Prefix + "." + name
	if _, err := b.ch.QueueDeclare(q, true, false, false, false, args); err != nil {
		t.Fatalf("declare queue %s: %v", q, err)
	}
	b.onCleanup(q, "")
	return q
}

// Exchange declares a direct exchange Prefix.name and binds queue to it
// with key.
func (b *Broker) Exchange(t testing.TB, name, queue, key string) string {
	t.Helper()
	x := b.Prefix + "." + name
	if err := b.ch.ExchangeDeclare(x, amqp.ExchangeDirect, true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	b.onCleanup("", x)
	if err := b.ch.QueueBind(queue, key, x, false, nil); err != nil {
		t.Fatal(err)
	}
	return x
}

// Messages returns every message the queue has held since the test began:
// what is waiting now is read (and acknowledged) and added to what earlier
// calls read.
func (b *Broker) Messages(t testing.TB, queue string) []amqp.Delivery {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for {
		d, ok, err := b.ch.Get(queue, true)
		if err != nil {
			t.Fatalf("get from %s: %v", queue, err)
		}
		if !ok {
			break
		}
		b.seen[queue] = append(b.seen[queue], d)
	}
	return b.seen[queue]
}

// View materialises a queue as a consumer applying every message would.
func (b *Broker) View(t testing.TB, queue string, bare bool) *streamtest.View {
	t.Helper()
	v := streamtest.NewView()
	v.Bare = bare
	for i, d := range b.Messages(t, queue) {
		m := streamtest.Msg{Value: d.Body, ID: d.MessageId}
		m.Op, _ = d.Headers["hoist-op"].(string)
		if k, _ := d.Headers["hoist-key"].(string); k != "" {
			m.Key = []byte(k)
		}
		if err := v.Apply(m); err != nil {
			t.Fatalf("queue %s message %d: %v", queue, i, err)
		}
	}
	return v
}
