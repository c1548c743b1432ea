package mqtttest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/hoist-dev/hoist/internal/streamtest"
)

// DefaultMosquitto is the broker binary NewPrivate starts when
// HOIST_TEST_MOSQUITTO is unset and no mosquitto is on PATH (Debian and
// Ubuntu install it in /usr/sbin, which a plain user's PATH lacks).
const DefaultMosquitto = "/usr/sbin/mosquitto"

// privateConfig is the private broker's configuration: an unlimited queue
// per subscriber (max_queued_messages 0), so a subscriber that falls
// behind is never dropped a QoS 1 message, however far behind.
// max_inflight_messages stays at its default (20), as on the shared
// broker: hoist publishes against the same limits, and the subscriber is
// handed its queue 20 unacknowledged messages at a time. No persistence:
// the broker lives for one test.
const privateConfig = `listener %d 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 0
log_dest stderr
log_type error
log_type warning
log_type information
`

// NewPrivate starts a Mosquitto of the test's own on a free port of
// 127.0.0.1, stopped when the test ends, and connects a subscriber as New
// does, but at QoS 1: with the broker's queue unlimited, it receives every
// message hoist's QoS 1 publishes had acknowledged, in order, however slow
// it is (a -race consumer on a loaded machine). A missing mosquitto binary
// skips the test, unless HOIST_REQUIRE_SERVICES=1.
func NewPrivate(t testing.TB) *Broker {
	t.Helper()
	return connect(t, startMosquitto(t), true)
}

// mosquittoName is the binary mosquittoBin looks for, as a message names it.
func mosquittoName() string { return streamtest.Env("HOIST_TEST_MOSQUITTO", DefaultMosquitto) }

func mosquittoBin() (string, error) {
	if bin := os.Getenv("HOIST_TEST_MOSQUITTO"); bin != "" {
		return exec.LookPath(bin)
	}
	if bin, err := exec.LookPath("mosquitto"); err == nil {
		return bin, nil
	}
	return exec.LookPath(DefaultMosquitto)
}

// startMosquitto runs the broker and returns its URL once it listens.
func startMosquitto(t testing.TB) string {
	t.Helper()
	bin, err := mosquittoBin()
	if err != nil {
		streamtest.Require(t, "mosquitto", mosquittoName(), err)
	}
	dir := t.TempDir() // before the broker's cleanup, so removed after it stops
	var errs []error
	// the port is free when picked but another process may bind it before
	// mosquitto does: mosquitto then exits, and another port is tried
	for range 5 {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		url, err := tryMosquitto(t, bin, dir, port)
		if err == nil {
			return url
		}
		errs = append(errs, err)
		if !errors.Is(err, errPortTaken) {
			break
		}
	}
	t.Fatalf("start %s: %v", bin, errors.Join(errs...))
	return ""
}

var errPortTaken = errors.New("port taken")

// tryMosquitto runs the broker on port and returns its URL once it
// listens, or errPortTaken when another process holds the port.
func tryMosquitto(t testing.TB, bin, dir string, port int) (string, error) {
	t.Helper()
	conf := filepath.Join(dir, fmt.Sprintf("mosquitto-%d.conf", port))
	if err := os.WriteFile(conf, fmt.Appendf(nil, privateConfig, port), 0o644); err != nil {
		return "", fmt.Errorf("write config: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "-c", conf)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		cancel()
		return "", err
	}
	if err := cmd.Start(); err != nil {
		cancel()
		return "", fmt.Errorf("run: %w", err)
	}
	var (
		mu     stdsync.Mutex
		log    strings.Builder
		ready  = make(chan struct{})
		exited = make(chan struct{})
	)
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(stderr)
		once := stdsync.OnceFunc(func() { close(ready) })
		for sc.Scan() {
			mu.Lock()
			log.WriteString(sc.Text() + "\n")
			mu.Unlock()
			// logged once every listener is open
			if strings.HasSuffix(sc.Text(), " running") {
				once()
			}
		}
		cmd.Wait()
	}()
	stop := func() { cancel(); <-exited }
	logged := func() string { mu.Lock(); defer mu.Unlock(); return log.String() }
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	select {
	case <-ready:
	case <-exited:
		stop()
		if strings.Contains(logged(), "Address already in use") {
			return "", fmt.Errorf("%s: %w", addr, errPortTaken)
		}
		return "", fmt.Errorf("exited before listening on %s: %s", addr, logged())
	case <-time.After(10 * time.Second):
		stop()
		return "", fmt.Errorf("not listening on %s within 10s: %s", addr, logged())
	}
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		stop()
		return "", fmt.Errorf("running but %s refuses connections: %w: %s", addr, err, logged())
	}
	conn.Close()
	t.Cleanup(stop)
	return "tcp://" + addr, nil
}

// freePort is a port of 127.0.0.1 nothing listened on a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
