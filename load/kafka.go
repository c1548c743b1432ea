package load

import (
	"context"
	"errors"
	"fmt"
	stdsync "sync"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/internal/kafkaconn"
	"github.com/hoist-dev/hoist/sync/spec"
)

// The kafka destination produces each row as a record and counts it
// delivered once every in-sync replica has it (acks=all). The record key is
// the primary key's JSON ({"id":42}), so a key's changes land on one
// partition in order; a delete is a tombstone (a null value), which a
// compacted topic turns into the key's removal. Headers hoist-sync,
// hoist-op, hoist-run-id and hoist-id (the change's id, for a consumer's
// own dedup) travel with every record. The producer is idempotent: a batch
// the client resends after a lost answer is written once. A record the
// brokers refuse (too large, not authorised, a policy) is a rejected row;
// a broker refusal covers the records that shared its partition's batch.

func init() {
	Register(kafkaconn.Type, streamDestRole(func() connector.DestConfig { return &KafkaDest{} }), openKafka)
}

// KafkaDest is a kafka destination block.
type KafkaDest struct {
	StreamDest `yaml:",inline"`
	Topic      string `yaml:"topic" doc:"topic to produce to, a Go text/template with .Sync, .Object, .Op and per row .Key and .Row (default: object); it must exist"`
}

// Validate implements connector.DestConfig.
func (k *KafkaDest) Validate(d connector.Dest, p connector.Problems) {
	k.StreamDest.validate(p)
	validateStreamTopic("topic", k.Topic, d, p)
}

func (k *KafkaDest) topicText() string  { return k.Topic }
func (k *KafkaDest) stream() StreamDest { return k.StreamDest }

func openKafka(ctx context.Context, conn *spec.Connection, _ string) (Destination, error) {
	cfg, err := connector.As[*kafkaconn.Config](conn.Config)
	if err != nil {
		return nil, err
	}
	cl, err := cfg.Client(conn.Name)
	if err != nil {
		return nil, err
	}
	if err := kafkaconn.Ping(ctx, cl, cfg); err != nil {
		cl.Close()
		return nil, err
	}
	pub := &kafkaPublisher{cl: cl}
	return NewKafkaDestination(conn.Name, pub), nil
}

// NewKafkaDestination wraps a publisher (the benchmark's and the tests'
// own client) as a kafka destination.
func NewKafkaDestination(name string, pub StreamPublisher) Destination {
	p, _ := pub.(*kafkaPublisher)
	opts := streamOptions{tombstones: true, checkTopic: checkKafkaTopic}
	if p != nil {
		opts.prepare = p.prepare
	}
	return &streamDest{kind: kafkaconn.Type, name: name, role: streamDestRole(nil), pub: pub, opts: opts}
}

// NewKafkaPublisher publishes through cl.
func NewKafkaPublisher(cl *kgo.Client) StreamPublisher { return &kafkaPublisher{cl: cl} }

type kafkaPublisher struct {
	cl *kgo.Client
}

func (p *kafkaPublisher) Close() error {
	p.cl.Close()
	return nil
}

// prepare checks that the topic exists: a missing one would fail every
// record only after the client's retries.
func (p *kafkaPublisher) prepare(ctx context.Context, topic string) error {
	req := kmsg.NewPtrMetadataRequest()
	t := kmsg.NewMetadataRequestTopic()
	t.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, t)
	resp, err := req.RequestWith(ctx, p.cl)
	if err != nil {
		return fmt.Errorf("metadata of topic %q: %w", topic, err)
	}
	for _, rt := range resp.Topics {
		if err := kerr.ErrorForCode(rt.ErrorCode); err != nil {
			if errors.Is(err, kerr.UnknownTopicOrPartition) {
				return fmt.Errorf("topic %q does not exist: create it (a compacted topic keeps the latest row per key)", topic)
			}
			return fmt.Errorf("topic %q: %w", topic, err)
		}
	}
	return nil
}

// Publish produces every message at once and waits for each promise. An
// error the brokers answered for a record that retrying cannot fix
// (MESSAGE_TOO_LARGE, TOPIC_AUTHORIZATION_FAILED, a policy) refuses it; a
// timeout, a lost connection or a fenced producer fails the batch.
func (p *kafkaPublisher) Publish(ctx context.Context, meta StreamMeta, msgs []StreamMsg) ([]error, error) {
	out := make([]error, len(msgs))
	recs := make([]kgo.Record, len(msgs))
	var wg stdsync.WaitGroup
	wg.Add(len(msgs))
	for i := range msgs {
		m := &msgs[i]
		r := &recs[i]
		r.Topic, r.Key, r.Value = m.Topic, m.Key, m.Value
		r.Headers = []kgo.RecordHeader{
			{Key: "hoist-sync", Value: []byte(meta.Sync)},
			{Key: "hoist-op", Value: []byte(m.Op)},
			{Key: "hoist-run-id", Value: []byte(meta.RunID)},
			{Key: "hoist-id", Value: []byte(m.ID)},
		}
		p.cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
			out[i] = err
			wg.Done()
		})
	}
	wg.Wait()
	for i, err := range out {
		if err == nil || kafkaRefused(err) {
			continue
		}
		return nil, fmt.Errorf("produce to %s: %w", msgs[i].Topic, err)
	}
	return out, nil
}

// kafkaRefused reports whether a record's error is the brokers (or the
// client, for a record over max_message_bytes) refusing that record, as
// opposed to a delivery that could not complete.
func kafkaRefused(err error) bool {
	var ke *kerr.Error
	if !errors.As(err, &ke) {
		return false
	}
	switch ke {
	case kerr.OutOfOrderSequenceNumber, kerr.UnknownProducerID, kerr.InvalidProducerIDMapping,
		kerr.InvalidProducerEpoch, kerr.ProducerFenced, kerr.UnknownTopicOrPartition, kerr.ClusterAuthorizationFailed:
		return false
	}
	return !ke.Retriable
}

// checkKafkaTopic refuses a name Kafka cannot have: 1 to 249 of
// [a-zA-Z0-9._-], not "." or "..".
func checkKafkaTopic(s string) error {
	if s == "" || len(s) > 249 || s == "." || s == ".." {
		return errors.New("a topic name has 1 to 249 characters and is not . or ..")
	}
	for _, c := range []byte(s) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			return fmt.Errorf("a topic name holds only ASCII letters, digits, '.', '_' and '-', not %q", c)
		}
	}
	return nil
}
