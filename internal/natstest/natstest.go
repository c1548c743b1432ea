// Package natstest gives tests JetStream streams of their own on the NATS
// server at HOIST_TEST_NATS_URL (default nats://127.0.0.1:4222), deleted
// when the test ends, and reads them back as a consumer would. An
// unreachable server skips the test, unless HOIST_REQUIRE_SERVICES=1.
package natstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoist-dev/hoist/internal/streamtest"
)

// DefaultURL is used when HOIST_TEST_NATS_URL is unset.
const DefaultURL = "nats://127.0.0.1:4222"

// URL is the server the tests use.
func URL() string { return streamtest.Env("HOIST_TEST_NATS_URL", DefaultURL) }

// Server is one test's handle on the server.
type Server struct {
	URL string
	// Prefix is unique to the test: subjects and streams it makes start
	// with it.
	Prefix string
	NC     *nats.Conn
	JS     jetstream.JetStream
}

// New connects and removes, when the test ends, every stream it made.
func New(t testing.TB) *Server {
	t.Helper()
	url := URL()
	nc, err := nats.Connect(url, nats.Timeout(5*time.Second))
	if err != nil {
		streamtest.Require(t, "nats", url, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		t.Fatal(err)
	}
	var rnd [4]byte
	rand.Read(rnd[:])
	s := &Server{URL: url, Prefix: "hoisttest_" + hex.EncodeToString(rnd[:]), NC: nc, JS: js}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		names := js.StreamNames(ctx)
		var mine []string
		for n := range names.Name() {
			if len(n) >= len(s.Prefix) && n[:len(s.Prefix)] == s.Prefix {
				mine = append(mine, n)
			}
		}
		for _, n := range mine {
			if err := js.DeleteStream(ctx, n); err != nil {
				t.Errorf("delete stream %s: %v", n, err)
			}
		}
		nc.Close()
	})
	return s
}

// Stream creates the stream Prefix_name capturing the subject Prefix.name
// (and below it), and returns the subject. Options adjust the config.
func (s *Server) Stream(t testing.TB, name string, opts ...func(*jetstream.StreamConfig)) string {
	t.Helper()
	subject := s.Prefix + "." + name
	cfg := jetstream.StreamConfig{Name: s.Prefix + "_" + name, Subjects: []string{subject, subject + ".>"}, Storage: jetstream.FileStorage}
	for _, o := range opts {
		o(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.JS.CreateStream(ctx, cfg); err != nil {
		t.Fatalf("create stream %s: %v", cfg.Name, err)
	}
	return subject
}

// HasStream reports whether the stream of name exists.
func (s *Server) HasStream(name string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := s.JS.Stream(ctx, s.Prefix+"_"+name)
	return err == nil
}

// Count is how many messages the stream of name holds.
func (s *Server) Count(name string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := s.JS.Stream(ctx, s.Prefix+"_"+name)
	if err != nil {
		return 0
	}
	info, err := st.Info(ctx)
	if err != nil {
		return 0
	}
	return int(info.State.Msgs)
}

// Messages reads every message of the stream of name, in order, as a
// consumer sees them: payload, hoist-key and hoist-op headers, Nats-Msg-Id.
func (s *Server) Messages(t testing.TB, name string) []streamtest.Msg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	stream := s.Prefix + "_" + name
	info, err := s.JS.Stream(ctx, stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil
	}
	if err != nil {
		t.Fatalf("stream %s: %v", stream, err)
	}
	total := info.CachedInfo().State.Msgs
	if total == 0 {
		return nil
	}
	cons, err := s.JS.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatalf("consumer on %s: %v", stream, err)
	}
	out := make([]streamtest.Msg, 0, total)
	for uint64(len(out)) < total {
		batch, err := cons.Fetch(int(min(1000, total-uint64(len(out)))), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatalf("fetch from %s: %v", stream, err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			h := m.Headers()
			msg := streamtest.Msg{Value: m.Data(), Op: h.Get("hoist-op"), ID: h.Get(jetstream.MsgIDHeader)}
			if k := h.Get("hoist-key"); k != "" {
				msg.Key = []byte(k)
			}
			out = append(out, msg)
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			t.Fatalf("fetch from %s: %v", stream, err)
		}
		if n == 0 {
			t.Fatalf("stream %s: read %d of %d messages, then nothing", stream, len(out), total)
		}
	}
	return out
}

// View materialises the stream of name.
func (s *Server) View(t testing.TB, name string, bare bool) *streamtest.View {
	t.Helper()
	v := streamtest.NewView()
	v.Bare = bare
	for i, m := range s.Messages(t, name) {
		if err := v.Apply(m); err != nil {
			t.Fatalf("stream %s message %d: %v", name, i, err)
		}
	}
	return v
}
