package cli_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hoist-dev/hoist/internal/amqptest"
	"github.com/hoist-dev/hoist/internal/kafkatest"
	"github.com/hoist-dev/hoist/internal/mqtttest"
	"github.com/hoist-dev/hoist/internal/natstest"
	"github.com/hoist-dev/hoist/internal/streamtest"
)

// streamRows is the size of each broker's end-to-end source: 100,000 rows
// where a run takes seconds (JetStream, Kafka, and a private Mosquitto:
// 6-9 s here, each MQTT subtest 30-45 s under -race, most of it the test
// consumer reading 100,000 messages back, as for JetStream); the local
// RabbitMQ acknowledges a few thousand messages/s, a bare client loop as
// much as hoist (make bench-streams), so 20,000 keeps its tests under
// 20 s; make bench-streams publishes 1,000,000 to each.
var streamRows = map[string]int{"nats": 100_000, "kafka": 100_000, "mqtt": 100_000, "amqp": 20_000}

// endToEndBrokers are the brokers the end-to-end tests drive.
var endToEndBrokers = []string{"nats", "kafka", "mqtt", "amqp"}

// streamBroker is one broker as the end-to-end tests drive it: the
// connection and destination YAML of a spec that publishes to a topic of
// the test's own, how many messages the topic holds, and its consumer's
// materialised view.
type streamBroker struct {
	conn, dest string
	count      func() int
	view       func(t *testing.T) *streamtest.View
}

var streamBrokers = map[string]func(t *testing.T) streamBroker{
	"nats": func(t *testing.T) streamBroker {
		srv := natstest.New(t)
		subject := srv.Stream(t, "customers")
		return streamBroker{
			conn:  fmt.Sprintf("{type: nats, url: %q}", srv.URL),
			dest:  fmt.Sprintf("subject: %q", subject),
			count: func() int { return srv.Count("customers") },
			view:  func(t *testing.T) *streamtest.View { return srv.View(t, "customers", false) },
		}
	},
	"kafka": func(t *testing.T) streamBroker {
		kc := kafkatest.New(t)
		kc.MustCreateTopic(t, "customers", 3, map[string]string{"cleanup.policy": "compact"})
		return streamBroker{
			conn: fmt.Sprintf("{type: kafka, brokers: [%s]}", strings.Join(kc.Addrs, ", ")),
			dest: "topic: customers",
			count: func() int {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				n, _ := kc.Count(ctx, "customers")
				return int(n)
			},
			view: func(t *testing.T) *streamtest.View { return kc.View(t, "customers", false) },
		}
	},
	// A Mosquitto of the test's own, not the shared one: that one keeps at
	// most max_queued_messages (1,000) for a subscriber that falls behind
	// and drops the rest (at QoS 0 too once its queue is full), and a -race
	// test consumer on a loaded machine falls that far behind hoist (CI
	// lost the sync marker itself). The private broker's queue is
	// unlimited and its subscriber at QoS 1, so it sees every message.
	"mqtt": func(t *testing.T) streamBroker {
		b := mqtttest.NewPrivate(t)
		return streamBroker{
			conn:  fmt.Sprintf("{type: mqtt, url: %q}", b.URL),
			dest:  fmt.Sprintf("topic: %q", b.Topic("customers")),
			count: b.Count,
			view:  func(t *testing.T) *streamtest.View { return b.View(t, b.Topic("customers"), false) },
		}
	},
	"amqp": func(t *testing.T) streamBroker {
		b := amqptest.New(t)
		q := b.Queue(t, "customers", nil)
		return streamBroker{
			conn:  fmt.Sprintf("{type: amqp, url: %q}", b.URL),
			dest:  fmt.Sprintf("routing_key: %q", q),
			count: func() int { return b.Count(t, q) },
			view:  func(t *testing.T) *streamtest.View { return b.View(t, q, false) },
		}
	},
}

// streamSource makes a SQLite source of n customers.
func streamSource(t *testing.T, dir string, n int) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(dir, "src.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT NOT NULL, plan TEXT, score INTEGER)`)
	exec(`WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ?)
		INSERT INTO customers SELECT i, 'user' || i || '@example.com', CASE i % 3 WHEN 0 THEN 'free' WHEN 1 THEN 'pro' ELSE NULL END, i * 7 FROM s`, n)
	return db
}

func streamSpec(b streamBroker) string {
	return fmt.Sprintf(`version: 1
connections:
  src: {type: sqlite, path: src.db}
  bus: %s
syncs:
  - name: customers
    source: {connection: src, table: customers}
    destination:
      connection: bus
      mode: mirror
      primary_key: [id]
      %s
`, b.conn, b.dest)
}

// checkView holds the consumer's view to the source, row for row.
func checkView(t *testing.T, db *sql.DB, v *streamtest.View) {
	t.Helper()
	rows, err := db.Query(`SELECT id, email, plan, score FROM customers`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n, bad := 0, 0
	for rows.Next() {
		var id, score int64
		var email string
		var plan sql.NullString
		if err := rows.Scan(&id, &email, &plan, &score); err != nil {
			t.Fatal(err)
		}
		n++
		raw := v.Get(fmt.Sprintf(`{"id":%d}`, id))
		var got struct {
			ID    int64   `json:"id"`
			Email string  `json:"email"`
			Plan  *string `json:"plan"`
			Score int64   `json:"score"`
		}
		if raw == nil || json.Unmarshal(raw, &got) != nil || got.ID != id || got.Email != email || got.Score != score ||
			(got.Plan == nil) != !plan.Valid || (plan.Valid && *got.Plan != plan.String) {
			if bad++; bad <= 5 {
				t.Errorf("key %d: view holds %s", id, raw)
			}
		}
	}
	if v.Len() != n {
		t.Errorf("the view holds %d rows, the source %d", v.Len(), n)
	}
	if bad > 0 {
		t.Fatalf("%d of %d rows differ", bad, n)
	}
}

type streamRunReport struct {
	Status    string `json:"status"`
	Added     int    `json:"added"`
	Changed   int    `json:"changed"`
	Removed   int    `json:"removed"`
	Delivered int    `json:"delivered"`
	Error     string `json:"error"`
}

func streamRun(t *testing.T, dir string) streamRunReport {
	t.Helper()
	res := hoist(t, dir, nil, "run", "hoist.yaml", "--output", "json")
	var rep streamRunReport
	if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil || res.code != 0 {
		t.Fatalf("run: exit %d: %s %s", res.code, res.stdout, res.stderr)
	}
	return rep
}

// TestStreamMirrorEndToEnd mirrors streamRows rows into each broker with the
// built binary, then edits the source (changes, deletes, adds): after each
// run the consumer's materialised view equals the source, and a rerun
// sends nothing.
func TestStreamMirrorEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	for _, name := range endToEndBrokers {
		t.Run(name, func(t *testing.T) {
			b := streamBrokers[name](t)
			dir := t.TempDir()
			rows := streamRows[name]
			db := streamSource(t, dir, rows)
			if err := os.WriteFile(filepath.Join(dir, "hoist.yaml"), []byte(streamSpec(b)), 0o644); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			if rep := streamRun(t, dir); rep.Delivered != rows {
				t.Fatalf("first run: %+v", rep)
			}
			t.Logf("%s: %d rows published in %v", name, rows, time.Since(start).Round(time.Millisecond))
			checkView(t, db, b.view(t))
			for _, q := range []string{
				`UPDATE customers SET plan = 'enterprise', score = score + 1 WHERE id % 97 = 0`,
				`DELETE FROM customers WHERE id % 211 = 0`,
				`INSERT INTO customers SELECT id + 200000, 'new' || id || '@example.com', NULL, 0 FROM customers WHERE id <= 700`,
			} {
				if _, err := db.Exec(q); err != nil {
					t.Fatal(err)
				}
			}
			rep := streamRun(t, dir)
			// ids 211, 422 and 633 were deleted before the copy of ids 1-700
			if rep.Added != 697 || rep.Removed != rows/211 || rep.Changed == 0 || rep.Delivered != rep.Added+rep.Changed+rep.Removed {
				t.Fatalf("run after the edits: %+v", rep)
			}
			checkView(t, db, b.view(t))
			if rep := streamRun(t, dir); rep.Delivered != 0 {
				t.Fatalf("rerun delivered %d", rep.Delivered)
			}
		})
	}
}

// TestStreamKillMidRun SIGKILLs hoist while it publishes streamRows rows to
// each broker, then reruns it: the consumer's view equals the source (no
// row missing), and the test logs how many duplicates the broker let
// through (the rerun resends every row the killed run's state never
// committed). Only JetStream drops them (Nats-Msg-Id within its duplicate
// window); Kafka (a new producer session), MQTT (QoS 1 has no broker-side
// dedup) and RabbitMQ are at least once, so duplicates are allowed there,
// each one a resend with an earlier message's id.
func TestStreamKillMidRun(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	for _, name := range endToEndBrokers {
		t.Run(name, func(t *testing.T) {
			b := streamBrokers[name](t)
			dir := t.TempDir()
			rows := streamRows[name]
			db := streamSource(t, dir, rows)
			if err := os.WriteFile(filepath.Join(dir, "hoist.yaml"), []byte(streamSpec(b)), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(hoistBin, "run", "hoist.yaml")
			cmd.Dir = dir
			var errb bytes.Buffer
			cmd.Stderr = &errb
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(20 * time.Second)
			for time.Now().Before(deadline) && b.count() < rows/20 {
				time.Sleep(2 * time.Millisecond)
			}
			n := b.count()
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
			if n < 1 || n >= rows {
				t.Fatalf("could not kill mid-run: %d messages had landed (%s)", n, errb.String())
			}
			rep := streamRun(t, dir)
			v := b.view(t)
			// at least once is every change arriving, some twice: the view
			// holds every row as the source has it, whatever repeats
			checkView(t, db, v)
			dups := v.Keyed - rows
			t.Logf("%s: killed after %d messages; the rerun delivered %d; the topic holds %d messages for %d keys: %d duplicates (%d by message id)",
				name, n, rep.Delivered, v.Keyed, rows, dups, v.Duplicates())
			if name == "nats" && dups != 0 {
				t.Errorf("JetStream let %d duplicates through its dedup window", dups)
			}
			// every duplicate is a resend of the same change: its id says so,
			// and a consumer that keeps ids drops it
			if dups != v.Duplicates() {
				t.Errorf("%d duplicates, but %d messages repeat an earlier one's id", dups, v.Duplicates())
			}
		})
	}
}
