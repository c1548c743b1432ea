package load_test

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/hoist-dev/hoist/internal/kafkaconn"
	"github.com/hoist-dev/hoist/internal/kafkatest"
	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/sync/spec"
)

func openKafkaWriter(t *testing.T, kc *kafkatest.Cluster, topic, mode string) (load.Destination, load.Writer) {
	t.Helper()
	conn := &spec.Connection{Name: "k", Type: kafkaconn.Type, Config: &kafkaconn.Config{Brokers: kc.Addrs}}
	d, err := load.Open(context.Background(), conn, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	rec := idRecord(t, 1)
	defer rec.Release()
	w, err := d.Open(context.Background(), load.Target{Sync: "s", RunID: "r1", Schema: rec.Schema(),
		Dest: &spec.Dest{Object: topic, Mode: mode, PrimaryKey: []string{"id"}, Config: &load.KafkaDest{}}})
	if err != nil {
		t.Fatal(err)
	}
	return d, w
}

func ids(n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(i + 1)
	}
	return out
}

// TestKafkaProduceError answers one produce request with
// TOPIC_AUTHORIZATION_FAILED (a kfake control function): the rows of that
// request are rejected, naming the error, and the next batch is delivered.
func TestKafkaProduceError(t *testing.T) {
	kc := kafkatest.New(t, kfake.NumBrokers(1))
	kc.MustCreateTopic(t, "refused", 1, nil)
	var answered atomic.Int32
	kc.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		r := req.(*kmsg.ProduceRequest)
		resp := r.ResponseKind().(*kmsg.ProduceResponse)
		resp.Version = r.Version
		for _, rt := range r.Topics {
			st := kmsg.NewProduceResponseTopic()
			st.Topic, st.TopicID = rt.Topic, rt.TopicID
			for _, rp := range rt.Partitions {
				sp := kmsg.NewProduceResponseTopicPartition()
				sp.Partition, sp.ErrorCode = rp.Partition, kerr.TopicAuthorizationFailed.Code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		answered.Add(1)
		return resp, nil, true
	})
	_, w := openKafkaWriter(t, kc, "refused", spec.ModeUpsert)
	rec := idRecord(t, ids(5)...)
	defer rec.Release()
	res, err := w.Write(context.Background(), load.Batch{Op: load.OpUpsert, Record: rec})
	if err != nil {
		t.Fatalf("a refused produce failed the batch instead of rejecting its rows: %v", err)
	}
	if len(res.Failed) != 5 || !strings.Contains(res.Failed[0].Msg, "TOPIC_AUTHORIZATION_FAILED") || answered.Load() != 1 {
		t.Fatalf("failed %+v (control answered %d requests)", res.Failed, answered.Load())
	}
	rec2 := idRecord(t, 6, 7)
	defer rec2.Release()
	if res, err := w.Write(context.Background(), load.Batch{Seq: 1, Op: load.OpUpsert, Record: rec2}); err != nil || len(res.Failed) > 0 {
		t.Fatalf("the batch after: %v %+v", err, res.Failed)
	}
	if v := kc.View(t, "refused", false); v.Len() != 2 || v.Get(`{"id":6}`) == nil || v.Messages != 2 {
		t.Fatalf("view holds %d rows of %d messages, want keys 6 and 7 only", v.Len(), v.Messages)
	}
}

// TestKafkaPartitionRefused refuses every produce to partition 0 of a
// three-partition topic (a kfake fault): exactly the rows whose records
// went there are rejected; the others are delivered, once.
func TestKafkaPartitionRefused(t *testing.T) {
	kc := kafkatest.New(t)
	kc.MustCreateTopic(t, "part", 3, nil)
	kc.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: "part", Partitions: []int32{0}, Err: kerr.PolicyViolation, Count: -1})
	_, w := openKafkaWriter(t, kc, "part", spec.ModeUpsert)
	rec := idRecord(t, ids(60)...)
	defer rec.Release()
	res, err := w.Write(context.Background(), load.Batch{Op: load.OpUpsert, Record: rec})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Failed) == 0 || len(res.Failed) == 60 {
		t.Fatalf("%d of 60 rows rejected; want those of one partition of three", len(res.Failed))
	}
	v := kc.View(t, "part", false)
	if v.Len() != 60-len(res.Failed) || v.Messages != v.Len() {
		t.Fatalf("view: %d rows of %d messages, want %d delivered once", v.Len(), v.Messages, 60-len(res.Failed))
	}
	for _, f := range res.Failed {
		if !strings.Contains(f.Msg, "POLICY_VIOLATION") {
			t.Errorf("row %d: %s", f.Row, f.Msg)
		}
		if v.Get(`{"id":`+strconv.Itoa(f.Row+1)+`}`) != nil {
			t.Errorf("rejected row %d is in the topic", f.Row)
		}
	}
}

// TestKafkaLeaderMoved moves the partition's leader to another broker
// while a batch is in flight (the first produce is answered
// NOT_LEADER_FOR_PARTITION after the move): the client follows the new
// leader and every row is delivered exactly once.
func TestKafkaLeaderMoved(t *testing.T) {
	kc := kafkatest.New(t)
	kc.MustCreateTopic(t, "moved", 1, nil)
	var moved atomic.Bool
	kc.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		if moved.Swap(true) {
			return nil, nil, false
		}
		old := kc.LeaderFor("moved", 0)
		if err := kc.MoveTopicPartition("moved", 0, (old+1)%3); err != nil {
			t.Errorf("move: %v", err)
		}
		r := req.(*kmsg.ProduceRequest)
		resp := r.ResponseKind().(*kmsg.ProduceResponse)
		resp.Version = r.Version
		for _, rt := range r.Topics {
			st := kmsg.NewProduceResponseTopic()
			st.Topic, st.TopicID = rt.Topic, rt.TopicID
			for _, rp := range rt.Partitions {
				sp := kmsg.NewProduceResponseTopicPartition()
				sp.Partition, sp.ErrorCode = rp.Partition, kerr.NotLeaderForPartition.Code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
	_, w := openKafkaWriter(t, kc, "moved", spec.ModeUpsert)
	rec := idRecord(t, ids(50)...)
	defer rec.Release()
	if res, err := w.Write(context.Background(), load.Batch{Op: load.OpUpsert, Record: rec}); err != nil || len(res.Failed) > 0 {
		t.Fatalf("%v %+v", err, res.Failed)
	}
	if !moved.Load() {
		t.Fatal("the control function never ran")
	}
	if v := kc.View(t, "moved", false); v.Len() != 50 || v.Messages != 50 {
		t.Fatalf("view: %d rows of %d messages, want 50 once each", v.Len(), v.Messages)
	}
}

// TestKafkaAckLost has the broker append a batch and then answer
// REQUEST_TIMED_OUT (a kfake fault applied after the append): the client
// resends it, and the idempotent producer's sequence numbers make the
// broker drop the copy.
func TestKafkaAckLost(t *testing.T) {
	kc := kafkatest.New(t, kfake.NumBrokers(1))
	kc.MustCreateTopic(t, "lost", 1, nil)
	h := kc.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: "lost", Err: kerr.RequestTimedOut})
	_, w := openKafkaWriter(t, kc, "lost", spec.ModeUpsert)
	rec := idRecord(t, ids(20)...)
	defer rec.Release()
	if res, err := w.Write(context.Background(), load.Batch{Op: load.OpUpsert, Record: rec}); err != nil || len(res.Failed) > 0 {
		t.Fatalf("%v %+v", err, res.Failed)
	}
	if h.Hits() != 1 {
		t.Fatalf("fault hit %d times", h.Hits())
	}
	if info := kc.PartitionInfo("lost", 0); info.HighWatermark != 20 {
		t.Fatalf("high watermark %d after a lost ack, want 20 (no duplicates)", info.HighWatermark)
	}
}

// TestKafkaTombstones: a mirror's delete is a record with the key and a
// null value, carrying the hoist headers.
func TestKafkaTombstones(t *testing.T) {
	kc := kafkatest.New(t, kfake.NumBrokers(1))
	kc.MustCreateTopic(t, "tomb", 1, map[string]string{"cleanup.policy": "compact"})
	_, w := openKafkaWriter(t, kc, "tomb", spec.ModeMirror)
	rec := idRecord(t, 1, 2)
	defer rec.Release()
	w.Write(context.Background(), load.Batch{Op: load.OpUpsert, Record: rec})
	del := keyOnlyRecord(t, 2)
	defer del.Release()
	if res, err := w.Write(context.Background(), load.Batch{Seq: 1, Op: load.OpDelete, Record: del}); err != nil || len(res.Failed) > 0 {
		t.Fatal(err, res.Failed)
	}
	recs := kc.Records(t, "tomb")
	last := recs[len(recs)-1]
	headers := map[string]string{}
	for _, h := range last.Headers {
		headers[h.Key] = string(h.Value)
	}
	if string(last.Key) != `{"id":2}` || last.Value != nil || headers["hoist-op"] != "delete" || headers["hoist-sync"] != "s" || headers["hoist-run-id"] != "r1" || len(headers["hoist-id"]) != 32 {
		t.Fatalf("tombstone: key %s value %q headers %v", last.Key, last.Value, headers)
	}
	if v := kc.View(t, "tomb", false); v.Len() != 1 || v.Get(`{"id":1}`) == nil {
		t.Fatalf("view after the delete: %d rows", v.Len())
	}
}

// TestKafkaMissingTopic fails the run's open naming the topic.
func TestKafkaMissingTopic(t *testing.T) {
	kc := kafkatest.New(t, kfake.NumBrokers(1))
	conn := &spec.Connection{Name: "k", Type: kafkaconn.Type, Config: &kafkaconn.Config{Brokers: kc.Addrs}}
	d, err := load.Open(context.Background(), conn, "")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	rec := idRecord(t, 1)
	defer rec.Release()
	_, err = d.Open(context.Background(), load.Target{Sync: "s", Schema: rec.Schema(),
		Dest: &spec.Dest{Object: "nope", Mode: spec.ModeUpsert, PrimaryKey: []string{"id"}, Config: &load.KafkaDest{}}})
	if err == nil || !strings.Contains(err.Error(), `topic "nope" does not exist`) {
		t.Fatalf("open: %v", err)
	}
}
