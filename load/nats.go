package load

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/internal/natsconn"
	"github.com/hoist-dev/hoist/sync/spec"
)

// The nats destination publishes each row to a JetStream subject and
// counts it delivered once the stream's PubAck says it is stored. Every
// message carries Nats-Msg-Id (the change's id: sync, op, key, content),
// so within the stream's duplicate window (duplicate_window, 2 minutes by
// default) a resend after a crash is acknowledged as a duplicate and not
// stored twice. Headers hoist-sync, hoist-op, hoist-run-id and hoist-key
// (the key's JSON) travel with it.

func init() {
	Register(natsconn.Type, streamDestRole(func() connector.DestConfig { return &NATSDest{} }), openNATS)
}

// NATSDest is a nats destination block.
type NATSDest struct {
	StreamDest `yaml:",inline"`
	Subject    string `yaml:"subject" doc:"subject to publish to, a Go text/template with .Sync, .Object, .Op and per row .Key and .Row (default: object); a JetStream stream must capture it"`
}

// Validate implements connector.DestConfig.
func (n *NATSDest) Validate(d connector.Dest, p connector.Problems) {
	n.StreamDest.validate(p)
	validateStreamTopic("subject", n.Subject, d, p)
}

func (n *NATSDest) topicText() string  { return n.Subject }
func (n *NATSDest) stream() StreamDest { return n.StreamDest }

func openNATS(ctx context.Context, conn *spec.Connection, _ string) (Destination, error) {
	cfg, err := connector.As[*natsconn.Config](conn.Config)
	if err != nil {
		return nil, err
	}
	c, err := cfg.Connect(ctx, conn.Name)
	if err != nil {
		return nil, err
	}
	pub := &natsPublisher{c: c}
	return &streamDest{kind: natsconn.Type, name: conn.Name, role: streamDestRole(nil), pub: pub, opts: streamOptions{
		checkTopic: checkNATSSubject,
		prepare:    pub.prepare,
	}}, nil
}

type natsPublisher struct {
	c *natsconn.Conn
}

func (p *natsPublisher) Close() error {
	// Drain would wait for the acks of a batch that failed: nothing of it
	// counts anyway
	p.c.NC.Close()
	return nil
}

// prepare checks that a stream captures the subject: without one every
// publish would wait for an answer that never comes.
func (p *natsPublisher) prepare(ctx context.Context, subject string) error {
	if _, err := p.c.JS.StreamNameBySubject(ctx, subject); err != nil {
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			return fmt.Errorf("no JetStream stream captures subject %q: create one (nats stream add --subjects %q)", subject, subject)
		}
		return fmt.Errorf("look up the stream of subject %q: %w", subject, err)
	}
	return nil
}

// Publish sends every message with PublishMsgAsync, then waits for each
// PubAck. A JetStream API error in a PubAck (message too large, the
// stream's limits with discard new, a sealed stream) refuses that message
// alone; no answer in time or a closed connection fails the batch.
func (p *natsPublisher) Publish(ctx context.Context, meta StreamMeta, msgs []StreamMsg) ([]error, error) {
	out := make([]error, len(msgs))
	futs := make([]jetstream.PubAckFuture, len(msgs))
	waited := 0 // futures before this index are resolved
	wait := func(upTo int) error {
		for ; waited < upTo; waited++ {
			f := futs[waited]
			if f == nil {
				continue
			}
			select {
			case <-f.Ok():
			case err := <-f.Err():
				if refused(err) {
					out[waited] = err
					continue
				}
				return fmt.Errorf("message to %s: %w", f.Msg().Subject, err)
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	}
	for i := range msgs {
		m := &msgs[i]
		nm := &nats.Msg{Subject: m.Topic, Data: m.Value, Header: nats.Header{
			jetstream.MsgIDHeader: {m.ID},
			"hoist-sync":          {meta.Sync},
			"hoist-op":            {m.Op},
			"hoist-run-id":        {meta.RunID},
		}}
		if m.Key != nil {
			nm.Header["hoist-key"] = []string{string(m.Key)}
		}
		for {
			f, err := p.c.JS.PublishMsgAsync(nm)
			if err == nil {
				futs[i] = f
				break
			}
			switch {
			case errors.Is(err, nats.ErrMaxPayload):
				out[i] = fmt.Errorf("%w (%d bytes; the server's max_payload is %d)", err, len(m.Value), p.c.NC.MaxPayload())
			case errors.Is(err, jetstream.ErrTooManyStalledMsgs):
				// the connection's window of pending acks is full (other
				// loaders): wait for this batch's own, then try again
				if waited == i {
					if werr := p.waitAll(ctx); werr != nil {
						return nil, werr
					}
				} else if werr := wait(i); werr != nil {
					return nil, werr
				}
				continue
			default:
				return nil, fmt.Errorf("publish to %s: %w", m.Topic, err)
			}
			break
		}
	}
	if err := wait(len(msgs)); err != nil {
		return nil, err
	}
	return out, nil
}

// waitAll waits until no publish of the connection awaits its ack.
func (p *natsPublisher) waitAll(ctx context.Context) error {
	select {
	case <-p.c.JS.PublishAsyncComplete():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// refused reports whether a PubAck error is the stream refusing this one
// message (an API error) rather than the connection failing.
func refused(err error) bool {
	var jsErr jetstream.JetStreamError
	if errors.As(err, &jsErr) && jsErr.APIError() != nil {
		switch jsErr.APIError().ErrorCode {
		case jetstream.JSErrCodeStreamNotFound, jetstream.JSErrCodeJetStreamNotEnabled, jetstream.JSErrCodeJetStreamNotEnabledForAccount:
			return false
		}
		return true
	}
	return false
}

// checkNATSSubject refuses what a publish subject cannot be: empty,
// whitespace, empty tokens, wildcards.
func checkNATSSubject(s string) error {
	if s == "" {
		return errors.New("empty subject")
	}
	if strings.IndexFunc(s, unicode.IsSpace) >= 0 {
		return errors.New("a subject cannot hold whitespace")
	}
	for _, tok := range strings.Split(s, ".") {
		switch tok {
		case "":
			return errors.New("a subject cannot have an empty token (.. or a leading or trailing dot)")
		case "*", ">":
			return errors.New("a subject to publish to cannot hold the wildcards * or >")
		}
	}
	return nil
}
