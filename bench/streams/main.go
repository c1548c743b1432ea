// Command streams benchmarks hoist's stream destinations: N changes
// (a first upsert of an N-row SQLite table) published by the built hoist
// binary with the spec a user would write (printed), against a bare client
// loop in this process publishing the same payloads with the same
// acknowledgement settings, in the same run, to each local broker: NATS
// JetStream, Kafka (franz-go's kfake, started here on a loopback port),
// MQTT (Mosquitto) and RabbitMQ. It prints messages/s of both, their
// ratio, and hoist's peak RSS at two sizes.
//
//	make bench-streams   # or: go run -tags minicore_disabled ./bench/streams -hoist bin/hoist
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	stdsync "sync"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	_ "modernc.org/sqlite"

	"github.com/hoist-dev/hoist/internal/kafkatest"
	"github.com/hoist-dev/hoist/internal/streamtest"
)

func main() {
	hoistBin := flag.String("hoist", "bin/hoist", "the hoist binary")
	rows := flag.Int("rows", 1_000_000, "changes published per broker")
	small := flag.Int("small", 100_000, "the smaller size hoist's peak RSS is also measured at")
	only := flag.String("brokers", "nats,kafka,mqtt,amqp", "comma-separated brokers to run")
	flag.StringVar(&syncKeys, "sync-keys", "", "YAML keys added to the sync (e.g. \"concurrency: 16\"); default none: the spec a user would write")
	flag.Parse()
	bin, err := filepath.Abs(*hoistBin)
	if err != nil {
		fail(err)
	}
	dir, err := os.MkdirTemp("", "hoist-bench-streams-*")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(dir)
	fmt.Printf("source: SQLite table customers (id, email, plan, score); %d and %d rows; one upsert run each\n\n", *small, *rows)
	fmt.Printf("%-6s %9s %12s %12s %7s %14s %14s\n", "broker", "messages", "hoist msg/s", "bare msg/s", "ratio", "RSS small", "RSS large")
	for _, name := range strings.Split(*only, ",") {
		b, ok := brokers[name]
		if !ok {
			fail(fmt.Errorf("unknown broker %q", name))
		}
		if err := benchBroker(name, b, bin, dir, *small, *rows); err != nil {
			fmt.Printf("%-6s failed: %v\n", name, err)
		}
	}
}

// syncKeys are extra keys of the benchmark's sync.
var syncKeys string

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench-streams:", err)
	os.Exit(1)
}

// broker is one broker's part of the bench.
type broker struct {
	// setup makes a fresh topic for one measurement and returns the spec's
	// connection and destination lines, the bare loop, and a cleanup.
	setup func(tag string) (conn, dest string, bare func(n int) error, cleanup func(), err error)
}

func benchBroker(name string, b broker, bin, dir string, small, rows int) error {
	var rss [2]int64
	var hoistRate float64
	for i, n := range []int{small, rows} {
		conn, dest, _, cleanup, err := b.setup(fmt.Sprintf("h%d", i))
		if err != nil {
			return err
		}
		d := filepath.Join(dir, fmt.Sprintf("%s-%d", name, n))
		spec, err := prepare(d, n, conn, dest)
		if err != nil {
			cleanup()
			return err
		}
		if i == 1 {
			fmt.Printf("\n%s spec:\n%s\n", name, indent(spec))
		}
		// /usr/bin/time reports hoist's own peak: a child this process
		// starts directly shares its memory until exec, so its ru_maxrss
		// would count this process (kfake's records) too
		start := time.Now()
		cmd := exec.Command("/usr/bin/time", "-f", "hoist-maxrss-kb %M", bin, "run", "hoist.yaml", "--quiet")
		cmd.Dir = d
		out, err := cmd.CombinedOutput()
		elapsed := time.Since(start)
		cleanup()
		if err != nil {
			return fmt.Errorf("hoist at %d rows: %v: %s", n, err, out)
		}
		if rss[i], err = maxRSS(out); err != nil {
			return err
		}
		if i == 1 {
			hoistRate = float64(n) / elapsed.Seconds()
		}
	}
	_, _, bare, cleanup, err := b.setup("bare")
	if err != nil {
		return err
	}
	start := time.Now()
	err = bare(rows)
	elapsed := time.Since(start)
	cleanup()
	if err != nil {
		return fmt.Errorf("bare loop: %w", err)
	}
	bareRate := float64(rows) / elapsed.Seconds()
	fmt.Printf("%-6s %9d %12.0f %12.0f %7.2f %11.0f MB %11.0f MB\n", name, rows, hoistRate, bareRate, hoistRate/bareRate,
		float64(rss[0])/1024, float64(rss[1])/1024)
	return nil
}

// maxRSS reads the KiB /usr/bin/time printed.
func maxRSS(out []byte) (int64, error) {
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "hoist-maxrss-kb "); ok {
			return strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, fmt.Errorf("no peak RSS in the output of /usr/bin/time: %s", out)
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n    ") + "\n"
}

// prepare writes the source and the spec into dir.
func prepare(dir string, n int, conn, dest string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	db, err := sql.Open("sqlite", filepath.Join(dir, "src.db"))
	if err != nil {
		return "", err
	}
	defer db.Close()
	for _, q := range []string{
		`CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT NOT NULL, plan TEXT, score INTEGER)`,
		`WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ` + strconv.Itoa(n) + `)
		 INSERT INTO customers SELECT i, 'user' || i || '@example.com', CASE i % 3 WHEN 0 THEN 'free' WHEN 1 THEN 'pro' ELSE NULL END, i * 7 FROM s`,
	} {
		if _, err := db.Exec(q); err != nil {
			return "", err
		}
	}
	spec := fmt.Sprintf(`version: 1
connections:
  src: {type: sqlite, path: src.db}
  bus: %s
syncs:
  - name: customers
    source: {connection: src, table: customers}
    destination: {connection: bus, mode: upsert, primary_key: [id], %s}
`, conn, dest)
	if syncKeys != "" {
		spec += "    " + syncKeys + "\n"
	}
	return spec, os.WriteFile(filepath.Join(dir, "hoist.yaml"), []byte(spec), 0o644)
}

// payload is the envelope hoist publishes for row i, built the way a
// hand-written producer would; the bare loops send it with the same
// metadata hoist adds (headers, user properties, message_id).
func payload(b []byte, i int, ts string) (key, value []byte) {
	plan := `null`
	switch i % 3 {
	case 0:
		plan = `"free"`
	case 1:
		plan = `"pro"`
	}
	id := strconv.Itoa(i)
	key = []byte(`{"id":` + id + `}`)
	b = append(b[:0], `{"op":"upsert","key":`...)
	b = append(b, key...)
	b = append(b, `,"after":{"id":`...)
	b = append(b, id...)
	b = append(b, `,"email":"user`...)
	b = append(b, id...)
	b = append(b, `@example.com","plan":`...)
	b = append(b, plan...)
	b = append(b, `,"score":`...)
	b = strconv.AppendInt(b, int64(i)*7, 10)
	b = append(b, `},"sync":"customers","run_id":"bench","ts":"`...)
	b = append(b, ts...)
	b = append(b, `"}`...)
	return key, b
}

func now() string { return time.Now().UTC().Format(time.RFC3339Nano) }

// runID and msgID are shaped like hoist's: the bare loop carries the same
// metadata (headers, user properties, message_id) as hoist's messages.
const runID = "20261202T000000.000Z-bench"

func msgID(i int) string { return fmt.Sprintf("%032x", i) }

var brokers = map[string]broker{
	"nats":  {setup: setupNATS},
	"kafka": {setup: setupKafka()},
	"mqtt":  {setup: setupMQTT},
	"amqp":  {setup: setupAMQP},
}

func setupNATS(tag string) (string, string, func(int) error, func(), error) {
	u := streamtest.Env("HOIST_TEST_NATS_URL", "nats://127.0.0.1:4222")
	nc, err := nats.Connect(u)
	if err != nil {
		return "", "", nil, nil, err
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(8192))
	if err != nil {
		return "", "", nil, nil, err
	}
	name := "hoistbench_" + tag
	subject := "hoistbench." + tag
	ctx := context.Background()
	js.DeleteStream(ctx, name)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{subject}, Storage: jetstream.FileStorage}); err != nil {
		return "", "", nil, nil, err
	}
	cleanup := func() { js.DeleteStream(context.Background(), name); nc.Close() }
	// the bare loop: async publishes with Nats-Msg-Id, the client's
	// window of pending acks (hoist's default max_pending), every PubAck
	// awaited
	bare := func(n int) error {
		ts := now()
		var buf []byte
		for i := 1; i <= n; i++ {
			k, v := payload(buf, i, ts)
			m := &nats.Msg{Subject: subject, Data: v, Header: nats.Header{jetstream.MsgIDHeader: {msgID(i)},
				"hoist-sync": {"customers"}, "hoist-op": {"upsert"}, "hoist-run-id": {runID}, "hoist-key": {string(k)}}}
			for {
				_, err := js.PublishMsgAsync(m)
				if errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
					// the window is full: wait for it to drain, as hoist does
					<-js.PublishAsyncComplete()
					continue
				}
				if err != nil {
					return err
				}
				break
			}
		}
		select {
		case <-js.PublishAsyncComplete():
			return nil
		case <-time.After(5 * time.Minute):
			return fmt.Errorf("acks did not complete")
		}
	}
	return fmt.Sprintf("{type: nats, url: %q}", u), fmt.Sprintf("subject: %s", subject), bare, cleanup, nil
}

func setupKafka() func(string) (string, string, func(int) error, func(), error) {
	var once stdsync.Once
	var kc *kafkatest.Cluster
	var startErr error
	return func(tag string) (string, string, func(int) error, func(), error) {
		once.Do(func() {
			kc, startErr = kafkatest.Start(kfake.NumBrokers(1))
		})
		if startErr != nil {
			return "", "", nil, nil, startErr
		}
		topic := "hoistbench_" + tag
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := kc.CreateTopic(ctx, topic, 3, nil); err != nil {
			return "", "", nil, nil, err
		}
		// the bare loop: franz-go's producer with hoist's settings
		// (idempotent, acks=all, 30s delivery timeout), every promise awaited
		bare := func(n int) error {
			cl, err := kgo.NewClient(kgo.SeedBrokers(kc.Addrs...), kgo.RequiredAcks(kgo.AllISRAcks()), kgo.RecordDeliveryTimeout(30*time.Second))
			if err != nil {
				return err
			}
			defer cl.Close()
			ts := now()
			var mu stdsync.Mutex
			var first error
			for i := 1; i <= n; i++ {
				k, v := payload(nil, i, ts)
				r := &kgo.Record{Topic: topic, Key: k, Value: v, Headers: []kgo.RecordHeader{
					{Key: "hoist-sync", Value: []byte("customers")}, {Key: "hoist-op", Value: []byte("upsert")},
					{Key: "hoist-run-id", Value: []byte(runID)}, {Key: "hoist-id", Value: []byte(msgID(i))}}}
				cl.Produce(context.Background(), r, func(_ *kgo.Record, err error) {
					if err != nil {
						mu.Lock()
						first = err
						mu.Unlock()
					}
				})
			}
			if err := cl.Flush(context.Background()); err != nil {
				return err
			}
			return first
		}
		return fmt.Sprintf("{type: kafka, brokers: [%s]}", strings.Join(kc.Addrs, ", ")), "topic: " + topic, bare, func() {}, nil
	}
}

func setupMQTT(tag string) (string, string, func(int) error, func(), error) {
	raw := streamtest.Env("HOIST_TEST_MQTT_URL", "tcp://127.0.0.1:1883")
	topic := "hoistbench/" + tag
	// the bare loop: MQTT 5 QoS 1 from 4 × 256 goroutines (hoist's loaders
	// × max_inflight), each PUBACK awaited
	bare := func(n int) error {
		u, _ := url.Parse(raw)
		conn, err := net.Dial("tcp", u.Host)
		if err != nil {
			return err
		}
		c := paho.NewClient(paho.ClientConfig{Conn: conn})
		ctx := context.Background()
		if _, err := c.Connect(ctx, &paho.Connect{ClientID: "hoistbench-bare", CleanStart: true, KeepAlive: 30}); err != nil {
			return err
		}
		defer c.Disconnect(&paho.Disconnect{})
		ts := now()
		next := make(chan int, 1024)
		go func() {
			for i := 1; i <= n; i++ {
				next <- i
			}
			close(next)
		}()
		var wg stdsync.WaitGroup
		errs := make(chan error, 1)
		for range 4 * 256 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var buf []byte
				for i := range next {
					k, v := payload(buf, i, ts)
					props := &paho.PublishProperties{}
					props.User.Add("hoist-sync", "customers").Add("hoist-op", "upsert").Add("hoist-run-id", runID).
						Add("hoist-id", msgID(i)).Add("hoist-key", string(k))
					if _, err := c.Publish(ctx, &paho.Publish{QoS: 1, Topic: topic, Payload: v, Properties: props}); err != nil {
						select {
						case errs <- err:
						default:
						}
						return
					}
				}
			}()
		}
		wg.Wait()
		select {
		case err := <-errs:
			return err
		default:
			return nil
		}
	}
	return fmt.Sprintf("{type: mqtt, url: %q}", raw), "topic: " + topic, bare, func() {}, nil
}

func setupAMQP(tag string) (string, string, func(int) error, func(), error) {
	raw := streamtest.Env("HOIST_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
	conn, err := amqp.Dial(raw)
	if err != nil {
		return "", "", nil, nil, err
	}
	ch, err := conn.Channel()
	if err != nil {
		return "", "", nil, nil, err
	}
	q := "hoistbench." + tag
	ch.QueueDelete(q, false, false, false)
	if _, err := ch.QueueDeclare(q, true, false, false, false, nil); err != nil {
		return "", "", nil, nil, err
	}
	cleanup := func() { ch.QueueDelete(q, false, false, false); conn.Close() }
	// the bare loop: persistent messages with message_id on 4 channels in
	// confirm mode (hoist's loaders), 500 published then every confirm
	// awaited (hoist's batch)
	bare := func(n int) error {
		ts := now()
		next := make(chan int, 4096)
		go func() {
			for i := 1; i <= n; i++ {
				next <- i
			}
			close(next)
		}()
		var wg stdsync.WaitGroup
		errs := make(chan error, 4)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := conn.Channel()
				if err != nil {
					errs <- err
					return
				}
				defer c.Close()
				if err := c.Confirm(false); err != nil {
					errs <- err
					return
				}
				var dcs []*amqp.DeferredConfirmation
				flush := func() bool {
					for _, dc := range dcs {
						if !dc.Wait() {
							errs <- fmt.Errorf("nacked")
							return false
						}
					}
					dcs = dcs[:0]
					return true
				}
				for i := range next {
					k, v := payload(nil, i, ts)
					dc, err := c.PublishWithDeferredConfirmWithContext(context.Background(), "", q, true, false,
						amqp.Publishing{ContentType: "application/json", DeliveryMode: amqp.Persistent, MessageId: msgID(i),
							Timestamp: time.Now(), AppId: "hoist", Body: v,
							Headers: amqp.Table{"hoist-sync": "customers", "hoist-op": "upsert", "hoist-run-id": runID, "hoist-key": string(k)}})
					if err != nil {
						errs <- err
						return
					}
					if dcs = append(dcs, dc); len(dcs) == 500 && !flush() {
						return
					}
				}
				flush()
			}()
		}
		wg.Wait()
		select {
		case err := <-errs:
			return err
		default:
			return nil
		}
	}
	// the URL holds a password: the spec names a variable (benchBroker sets it)
	os.Setenv("AMQP_URL", raw)
	return `{type: amqp, url: "${AMQP_URL}"}`, "routing_key: " + q, bare, cleanup, nil
}
