package load_test

import (
	"context"
	"strings"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/hoist-dev/hoist/internal/amqpconn"
	"github.com/hoist-dev/hoist/internal/amqptest"
	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/sync/spec"
)

func openAMQPWriter(t *testing.T, b *amqptest.Broker, dest *load.AMQPDest) (load.Destination, load.Writer, error) {
	t.Helper()
	conn := &spec.Connection{Name: "a", Type: amqpconn.Type, Config: &amqpconn.Config{URL: spec.Secret(b.URL)}}
	d, err := load.Open(context.Background(), conn, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	rec := idRecord(t, 1)
	defer rec.Release()
	w, err := d.Open(context.Background(), load.Target{Sync: "s", RunID: "r1", Schema: rec.Schema(),
		Dest: &spec.Dest{Object: "o", Mode: spec.ModeUpsert, PrimaryKey: []string{"id"}, Config: dest}})
	return d, w, err
}

// TestAMQPRefused: a queue holding at most 3 messages with overflow
// reject-publish makes RabbitMQ nack the rest of a batch of 5; those rows
// are rejected and the first 3 delivered. A routing key no queue is bound
// to gets the message returned (mandatory), and its row rejected too.
func TestAMQPRefused(t *testing.T) {
	b := amqptest.New(t)
	q := b.Queue(t, "full", amqp.Table{"x-max-length": int32(3), "x-overflow": "reject-publish"})
	x := b.Exchange(t, "ex", q, "bound")
	_, w, err := openAMQPWriter(t, b, &load.AMQPDest{Exchange: x, RoutingKey: `{{if eq .Key "9"}}unbound{{else}}bound{{end}}`})
	if err != nil {
		t.Fatal(err)
	}
	rec := idRecord(t, 1, 2, 3, 4, 5, 9)
	defer rec.Release()
	res, err := w.Write(context.Background(), load.Batch{Op: load.OpUpsert, Record: rec})
	if err != nil {
		t.Fatal(err)
	}
	msgs := map[int]string{}
	for _, f := range res.Failed {
		msgs[f.Row] = f.Msg
	}
	if len(msgs) != 3 || !strings.Contains(msgs[3], "nacked") || !strings.Contains(msgs[4], "nacked") || !strings.Contains(msgs[5], "returned unroutable") {
		t.Fatalf("failed: %+v", res.Failed)
	}
	if v := b.View(t, q, false); v.Len() != 3 {
		t.Fatalf("queue holds %d rows, want 3", v.Len())
	}
}

// TestAMQPMissingExchange fails the run's open naming the exchange.
func TestAMQPMissingExchange(t *testing.T) {
	b := amqptest.New(t)
	_, _, err := openAMQPWriter(t, b, &load.AMQPDest{Exchange: b.Prefix + ".nope", RoutingKey: "k"})
	if err == nil || !strings.Contains(err.Error(), "exchange \""+b.Prefix+".nope\" does not exist") {
		t.Fatalf("open: %v", err)
	}
	_, _, err = openAMQPWriter(t, b, &load.AMQPDest{RoutingKey: b.Prefix + ".noqueue"})
	if err == nil || !strings.Contains(err.Error(), "no queue named") {
		t.Fatalf("open on the default exchange: %v", err)
	}
}

// TestAMQPPersistentWithID: messages are persistent and carry message_id
// (equal for a resend of the same change) and the hoist headers.
func TestAMQPPersistentWithID(t *testing.T) {
	b := amqptest.New(t)
	q := b.Queue(t, "props", nil)
	rec := idRecord(t, 1)
	defer rec.Release()
	for range 2 {
		_, w, err := openAMQPWriter(t, b, &load.AMQPDest{RoutingKey: q})
		if err != nil {
			t.Fatal(err)
		}
		if res, err := w.Write(context.Background(), load.Batch{Op: load.OpUpsert, Record: rec}); err != nil || len(res.Failed) > 0 {
			t.Fatal(err, res.Failed)
		}
	}
	ms := b.Messages(t, q)
	if len(ms) != 2 || ms[0].DeliveryMode != amqp.Persistent || ms[0].MessageId == "" || ms[0].MessageId != ms[1].MessageId ||
		ms[0].Headers["hoist-op"] != "upsert" || ms[0].Headers["hoist-key"] != `{"id":1}` {
		t.Fatalf("messages: %+v", ms)
	}
	if v := b.View(t, q, false); v.Duplicates() != 1 || v.Len() != 1 {
		t.Fatalf("view: %d rows, %d duplicates by message_id", v.Len(), v.Duplicates())
	}
}
