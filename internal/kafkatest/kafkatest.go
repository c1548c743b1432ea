// Package kafkatest runs franz-go's in-process Kafka cluster (kfake) for
// tests — no broker is installed here — and reads topics back as a
// consumer would, through a real franz-go consumer over the wire.
package kafkatest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/hoist-dev/hoist/internal/streamtest"
)

// Cluster is a running fake cluster of three brokers.
type Cluster struct {
	*kfake.Cluster
	Addrs []string
	admin *kgo.Client
}

// New starts a cluster (three brokers unless opts say otherwise) and stops
// it when the test ends.
func New(t testing.TB, opts ...kfake.Opt) *Cluster {
	t.Helper()
	c, err := Start(append([]kfake.Opt{kfake.NumBrokers(3)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// Start starts a cluster (the demo command's way in).
func Start(opts ...kfake.Opt) (*Cluster, error) {
	kc, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("start kfake: %w", err)
	}
	admin, err := kgo.NewClient(kgo.SeedBrokers(kc.ListenAddrs()...))
	if err != nil {
		kc.Close()
		return nil, err
	}
	return &Cluster{Cluster: kc, Addrs: kc.ListenAddrs(), admin: admin}, nil
}

// Close stops the cluster.
func (c *Cluster) Close() {
	c.admin.Close()
	c.Cluster.Close()
}

// CreateTopic creates a topic with configs (max.message.bytes,
// cleanup.policy …).
func (c *Cluster) CreateTopic(ctx context.Context, name string, partitions int32, configs map[string]string) error {
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, partitions, -1 // the broker default
	for k, v := range configs {
		cfg := kmsg.NewCreateTopicsRequestTopicConfig()
		cfg.Name, cfg.Value = k, kmsg.StringPtr(v)
		rt.Configs = append(rt.Configs, cfg)
	}
	req.Topics = append(req.Topics, rt)
	req.TimeoutMillis = 10000
	resp, err := req.RequestWith(ctx, c.admin)
	if err != nil {
		return fmt.Errorf("create topic %s: %w", name, err)
	}
	for _, t := range resp.Topics {
		if err := kerr.ErrorForCode(t.ErrorCode); err != nil {
			return fmt.Errorf("create topic %s: %w", name, err)
		}
	}
	return nil
}

// MustCreateTopic is CreateTopic failing the test.
func (c *Cluster) MustCreateTopic(t testing.TB, name string, partitions int32, configs map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.CreateTopic(ctx, name, partitions, configs); err != nil {
		t.Fatal(err)
	}
}

// endOffsets is each partition's high watermark; nil for a missing topic.
func (c *Cluster) endOffsets(ctx context.Context, topic string) (map[int32]int64, error) {
	mreq := kmsg.NewPtrMetadataRequest()
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr(topic)
	mreq.Topics = append(mreq.Topics, mt)
	mresp, err := mreq.RequestWith(ctx, c.admin)
	if err != nil {
		return nil, err
	}
	req := kmsg.NewPtrListOffsetsRequest()
	lt := kmsg.NewListOffsetsRequestTopic()
	lt.Topic = topic
	for _, t := range mresp.Topics {
		if kerr.ErrorForCode(t.ErrorCode) == kerr.UnknownTopicOrPartition {
			return nil, nil
		}
		for _, p := range t.Partitions {
			lp := kmsg.NewListOffsetsRequestTopicPartition()
			lp.Partition, lp.Timestamp = p.Partition, -1
			lt.Partitions = append(lt.Partitions, lp)
		}
	}
	req.Topics = append(req.Topics, lt)
	// the client splits the request by partition leader
	shards := c.admin.RequestSharded(ctx, req)
	out := map[int32]int64{}
	for _, sh := range shards {
		if sh.Err != nil {
			return nil, sh.Err
		}
		for _, t := range sh.Resp.(*kmsg.ListOffsetsResponse).Topics {
			for _, p := range t.Partitions {
				if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
					return nil, fmt.Errorf("partition %d: %w", p.Partition, err)
				}
				out[p.Partition] = p.Offset
			}
		}
	}
	return out, nil
}

// Count is how many records topic holds (its partitions' high
// watermarks added up).
func (c *Cluster) Count(ctx context.Context, topic string) (int64, error) {
	ends, err := c.endOffsets(ctx, topic)
	var n int64
	for _, e := range ends {
		n += e
	}
	return n, err
}

// Records reads every record of topic, partition by partition in offset
// order.
func (c *Cluster) Records(t testing.TB, topic string) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ends, err := c.endOffsets(ctx, topic)
	if err != nil {
		t.Fatalf("end offsets of %s: %v", topic, err)
	}
	var want int64
	parts := map[string]map[int32]kgo.Offset{topic: {}}
	for p, end := range ends {
		want += end
		parts[topic][p] = kgo.NewOffset().AtStart()
	}
	if want == 0 {
		return nil
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs...), kgo.ConsumePartitions(parts))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var out []*kgo.Record
	got := map[int32]int64{}
	done := func() bool {
		for p, end := range ends {
			if got[p] < end {
				return false
			}
		}
		return true
	}
	for !done() {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("reading %s: %d of %d records: %v", topic, len(out), want, err)
		}
		fs.EachError(func(_ string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", topic, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			out = append(out, r)
			got[r.Partition] = r.Offset + 1
		})
	}
	return out
}

// View materialises topic as a consumer would: records in each
// partition's order (a key's records are all on one partition).
func (c *Cluster) View(t testing.TB, topic string, bare bool) *streamtest.View {
	t.Helper()
	v := streamtest.NewView()
	v.Bare = bare
	for _, r := range c.Records(t, topic) {
		m := streamtest.Msg{Key: r.Key, Value: r.Value}
		for _, h := range r.Headers {
			switch h.Key {
			case "hoist-op":
				m.Op = string(h.Value)
			case "hoist-id":
				m.ID = string(h.Value)
			}
		}
		if err := v.Apply(m); err != nil {
			t.Fatalf("topic %s partition %d offset %d: %v", topic, r.Partition, r.Offset, err)
		}
	}
	return v
}
