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
	"time"

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
// what is waiting now is consumed (and acknowledged) and added to what
// earlier calls read.
func (b *Broker) Messages(t testing.TB, queue string) []amqp.Delivery {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	n := b.count(t, queue)
	if n == 0 {
		return b.seen[queue]
	}
	ch, err := b.conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	ch.Qos(1000, 0, false)
	ds, err := ch.Consume(queue, "", false, false, false, false, nil)
	if err != nil {
		t.Fatalf("consume %s: %v", queue, err)
	}
	timeout := time.After(60 * time.Second)
	for i := 0; i < n; i++ {
		select {
		case d := <-ds:
			b.seen[queue] = append(b.seen[queue], d)
			if i == n-1 || i%500 == 499 {
				d.Ack(true)
			}
		case <-timeout:
			t.Fatalf("queue %s: consumed %d of %d messages", queue, i, n)
		}
	}
	return b.seen[queue]
}

// Count is how many messages wait in the queue.
func (b *Broker) Count(t testing.TB, queue string) int {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.count(t, queue)
}

func (b *Broker) count(t testing.TB, queue string) int {
	ch, err := b.conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	q, err := ch.QueueDeclarePassive(queue, true, false, false, false, nil)
	if err != nil {
		t.Fatalf("queue %s: %v", queue, err)
	}
	return q.Messages
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
