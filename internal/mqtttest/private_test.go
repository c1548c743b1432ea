package mqtttest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/hoist-dev/hoist/internal/streamtest"
)

// publisher connects an MQTT 5 client to the broker at raw.
func publisher(t *testing.T, raw string) *paho.Client {
	t.Helper()
	c := paho.NewClient(paho.ClientConfig{Conn: dial(t, raw)})
	var rnd [4]byte
	rand.Read(rnd[:])
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Connect(ctx, &paho.Connect{ClientID: "hoisttest-p-" + hex.EncodeToString(rnd[:]), CleanStart: true, KeepAlive: 30}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Disconnect(&paho.Disconnect{}) })
	return c
}

// TestMQTTPrivateKeepsEverything holds the private broker's subscriber back
// while 3,000 QoS 1 messages are published (three times the shared
// broker's queue of 1,000): once let go, it receives every one, in order.
func TestMQTTPrivateKeepsEverything(t *testing.T) {
	hold := make(chan struct{})
	receiveHook = func() { <-hold }
	b := NewPrivate(t)
	receiveHook = nil
	released := false
	release := func() {
		if !released {
			released = true
			close(hold)
		}
	}
	defer release() // a failing test must not leave the subscriber blocked

	const n = 3000
	pub := publisher(t, b.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	topic := b.Topic("seq")
	for i := range n {
		if _, err := pub.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: []byte(strconv.Itoa(i))}); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	if got := b.Count(); got >= n {
		t.Fatalf("the subscriber was not held back: %d messages already", got)
	}
	release()
	msgs := b.Messages(t, topic)
	if len(msgs) != n {
		t.Fatalf("the subscriber received %d of %d messages", len(msgs), n)
	}
	for i, m := range msgs {
		if string(m.Payload) != strconv.Itoa(i) {
			t.Fatalf("message %d is %q: out of order", i, m.Payload)
		}
	}
}

// TestMQTTPrivatePortTaken: mosquitto on a port another process holds exits,
// and says so, so that startMosquitto can try another.
func TestMQTTPrivatePortTaken(t *testing.T) {
	bin, err := mosquittoBin()
	if err != nil {
		streamtest.Require(t, "mosquitto", mosquittoName(), err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = tryMosquitto(t, bin, t.TempDir(), l.Addr().(*net.TCPAddr).Port)
	if !errors.Is(err, errPortTaken) {
		t.Fatalf("got %v, want %v", err, errPortTaken)
	}
}
