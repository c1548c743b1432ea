package load

import (
	"context"
	"errors"
	"fmt"
	stdsync "sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/internal/amqpconn"
	"github.com/hoist-dev/hoist/sync/spec"
)

// The amqp destination publishes each row to an exchange with a routing
// key, persistent, on a channel in confirm mode, and counts it delivered
// on the broker's ack. A nack (a queue full with overflow reject-publish)
// rejects that row; with mandatory (the default) so does a message no
// queue is bound to take (basic.return), instead of the broker dropping it
// silently. Every message has message_id (the change's id: a consumer
// drops a resend it has seen) and headers hoist-sync, hoist-op,
// hoist-run-id and hoist-key.

func init() {
	Register(amqpconn.Type, streamDestRole(func() connector.DestConfig { return &AMQPDest{} }), openAMQP)
}

// AMQPDest is an amqp destination block.
type AMQPDest struct {
	StreamDest `yaml:",inline"`
	Exchange   string `yaml:"exchange" doc:"exchange to publish to; it must exist (default: the default exchange, which routes to the queue named by the routing key)"`
	RoutingKey string `yaml:"routing_key" doc:"routing key, a template as subject (default: object)"`
	// Mandatory makes an unroutable message a rejected row.
	Mandatory *bool `yaml:"mandatory" doc:"a message no queue takes is returned and its row rejected (default true); false lets the broker drop it"`
}

// Validate implements connector.DestConfig.
func (a *AMQPDest) Validate(d connector.Dest, p connector.Problems) {
	a.StreamDest.validate(p)
	validateStreamTopic("routing_key", a.RoutingKey, d, p)
}

func (a *AMQPDest) topicText() string  { return a.RoutingKey }
func (a *AMQPDest) stream() StreamDest { return a.StreamDest }

func (a *AMQPDest) mandatory() bool { return a.Mandatory == nil || *a.Mandatory }

func openAMQP(_ context.Context, conn *spec.Connection, _ string) (Destination, error) {
	cfg, err := connector.As[*amqpconn.Config](conn.Config)
	if err != nil {
		return nil, err
	}
	c, err := cfg.Dial(conn.Name)
	if err != nil {
		return nil, err
	}
	p := &amqpPublisher{conn: c, timeout: cfg.AckTimeout()}
	return &streamDest{kind: amqpconn.Type, name: conn.Name, role: streamDestRole(nil), pub: p, opts: streamOptions{
		checkTopic: func(s string) error {
			if len(s) > 255 {
				return errors.New("a routing key has at most 255 bytes")
			}
			return nil
		},
		bind: func(cfg streamDestConfig) (StreamPublisher, error) {
			d, err := connector.As[*AMQPDest](cfg)
			if err != nil {
				return nil, err
			}
			return &amqpTarget{p: p, exchange: d.Exchange, mandatory: d.mandatory()}, nil
		},
	}}, nil
}

// amqpPublisher holds the connection and a pool of confirm-mode channels:
// each batch publishes on a channel of its own, so one batch's channel
// error (an exchange deleted) does not fail the others' confirms.
type amqpPublisher struct {
	conn    *amqp.Connection
	timeout time.Duration
	mu      stdsync.Mutex
	idle    []*amqpChannel
}

type amqpChannel struct {
	ch      *amqp.Channel
	returns chan amqp.Return
	closed  chan *amqp.Error
}

func (p *amqpPublisher) Close() error {
	if p.conn.IsClosed() {
		return nil
	}
	return p.conn.Close()
}

// Publish on the connection itself is never called: every run binds its
// exchange (amqpTarget).
func (p *amqpPublisher) Publish(context.Context, StreamMeta, []StreamMsg) ([]error, error) {
	return nil, errors.New("amqp: publish without an exchange binding")
}

func (p *amqpPublisher) get() (*amqpChannel, error) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		c := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return c, nil
	}
	p.mu.Unlock()
	ch, err := p.conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("open a channel: %w", err)
	}
	if err := ch.Confirm(false); err != nil {
		ch.Close()
		return nil, fmt.Errorf("confirm mode: %w", err)
	}
	c := &amqpChannel{ch: ch, returns: ch.NotifyReturn(make(chan amqp.Return, 1024)), closed: ch.NotifyClose(make(chan *amqp.Error, 1))}
	return c, nil
}

func (p *amqpPublisher) put(c *amqpChannel) {
	p.mu.Lock()
	p.idle = append(p.idle, c)
	p.mu.Unlock()
}

// amqpTarget publishes one run's messages to its exchange.
type amqpTarget struct {
	p         *amqpPublisher
	exchange  string
	mandatory bool
}

func (t *amqpTarget) Close() error { return nil }

// prepare checks that the exchange exists or, on the default exchange,
// that a queue has the routing key's name: otherwise every message would be
// returned (or dropped).
func (t *amqpTarget) prepare(_ context.Context, key string) error {
	ch, err := t.p.conn.Channel()
	if err != nil {
		return fmt.Errorf("open a channel: %w", err)
	}
	defer ch.Close() // a failed passive declare has closed it already
	if t.exchange != "" {
		if err := ch.ExchangeDeclarePassive(t.exchange, amqp.ExchangeDirect, true, false, false, false, nil); err != nil {
			var ae *amqp.Error
			if errors.As(err, &ae) && ae.Code == amqp.NotFound {
				return fmt.Errorf("exchange %q does not exist: declare it and bind the queues that should get the messages", t.exchange)
			}
			// another kind than direct is fine: it exists
			if errors.As(err, &ae) && ae.Code == amqp.PreconditionFailed {
				return nil
			}
			return fmt.Errorf("exchange %q: %w", t.exchange, err)
		}
		return nil
	}
	if !t.mandatory {
		return nil
	}
	if _, err := ch.QueueDeclarePassive(key, true, false, false, false, nil); err != nil {
		var ae *amqp.Error
		if errors.As(err, &ae) && ae.Code == amqp.NotFound {
			return fmt.Errorf("no queue named %q: the default exchange routes a message to the queue its routing key names (set exchange, or declare the queue)", key)
		}
		return fmt.Errorf("queue %q: %w", key, err)
	}
	return nil
}

// Publish sends every message on one channel, then waits for each
// confirm. A returned message (unroutable, mandatory) or a nack refuses
// that message; a closed channel or connection fails the batch.
func (t *amqpTarget) Publish(ctx context.Context, meta StreamMeta, msgs []StreamMsg) ([]error, error) {
	c, err := t.p.get()
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if ok {
			t.p.put(c)
		} else {
			c.ch.Close()
		}
	}()
	out := make([]error, len(msgs))
	byID := make(map[string]int, len(msgs))
	dcs := make([]*amqp.DeferredConfirmation, len(msgs))
	now := time.Now()
	ctx, cancel := context.WithTimeout(ctx, t.p.timeout)
	defer cancel()
	returned := func(r amqp.Return) {
		if i, found := byID[r.MessageId]; found {
			out[i] = fmt.Errorf("returned unroutable (%d %s): no queue is bound to exchange %q with routing key %q", r.ReplyCode, r.ReplyText, t.exchange, r.RoutingKey)
		}
	}
	for i := range msgs {
		m := &msgs[i]
		byID[m.ID] = i
		pub := amqp.Publishing{
			ContentType: "application/json", DeliveryMode: amqp.Persistent, MessageId: m.ID, Timestamp: now, AppId: "hoist",
			Body:    m.Value,
			Headers: amqp.Table{"hoist-sync": meta.Sync, "hoist-op": m.Op, "hoist-run-id": meta.RunID},
		}
		if m.Key != nil {
			pub.Headers["hoist-key"] = string(m.Key)
		}
		dc, err := c.ch.PublishWithDeferredConfirmWithContext(ctx, t.exchange, m.Topic, t.mandatory, false, pub)
		if err != nil {
			return nil, fmt.Errorf("publish to exchange %q, routing key %q: %w", t.exchange, m.Topic, err)
		}
		dcs[i] = dc
	}
	for i, dc := range dcs {
	wait:
		for {
			select {
			case <-dc.Done():
				break wait
			case r := <-c.returns:
				returned(r)
			case e := <-c.closed:
				return nil, fmt.Errorf("the channel closed before every message was confirmed: %v", e)
			case <-ctx.Done():
				return nil, fmt.Errorf("waiting for the confirm of message %d of %d: %w", i+1, len(dcs), ctx.Err())
			}
		}
	}
	// a return comes before its message's ack: every one is in the buffer
	for drained := false; !drained; {
		select {
		case r := <-c.returns:
			returned(r)
		default:
			drained = true
		}
	}
	select {
	case e := <-c.closed:
		return nil, fmt.Errorf("the channel closed before every message was confirmed: %v", e)
	default:
	}
	for i, dc := range dcs {
		if out[i] == nil && !dc.Acked() {
			out[i] = errors.New("nacked by the broker (a queue refused it: full with overflow reject-publish, or an internal error)")
		}
	}
	ok = true
	return out, nil
}
