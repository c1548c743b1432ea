package load

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/internal/httpkit"
	"github.com/hoist-dev/hoist/sync/spec"
)

// bigBodyAPI answers every request 200 with a body of size bytes.
func bigBodyAPI(t *testing.T, size int) *httptest.Server {
	t.Helper()
	chunk := []byte(strings.Repeat(`{"ok":true,"echo":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"},`, 1<<10))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
		for n := 0; n < size; n += len(chunk) {
			w.Write(chunk)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestHTTPWriterDoesNotBufferSuccessBodies: without errors_path a 2xx body
// is drained, not held: 8 batches answered with 16 MiB each allocate a
// small fraction of the 128 MiB the bodies add up to. Not parallel: it
// reads the process's allocation counter.
func TestHTTPWriterDoesNotBufferSuccessBodies(t *testing.T) {
	const bodySize, batches = 16 << 20, 8
	srv := bigBodyAPI(t, bodySize)
	conn := &spec.Connection{Name: "big-bodies", Type: httpkit.Type, Config: &httpkit.Config{BaseURL: srv.URL, Timeout: spec.Duration(10 * time.Second)}}
	w := httpOpenWriter(t, conn, &spec.Dest{Mode: spec.ModeUpsert, Config: &HTTPDest{Operations: httpBatchUpsert}}, nil)
	alloc := memory.NewGoAllocator()
	rows := httpContacts(10*batches, 0)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if _, err := httpWriteAll(t, w, alloc, rows, 10, 4, OpUpsert); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d batches with %d MiB answers allocated %.1f MiB", batches, bodySize>>20, float64(allocated)/(1<<20))
	if allocated > bodySize {
		t.Errorf("writing %d batches allocated %d MiB: the 2xx bodies are buffered", batches, allocated>>20)
	}
}

// TestHTTPClientKeepsBodiesItNeeds: an http source reads its 2xx bodies
// whole; a non-2xx body is kept up to httpkit.MaxErrorRead and the rest drained.
func TestHTTPClientKeepsBodiesItNeeds(t *testing.T) {
	t.Parallel()
	const size = 3 << 20
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/bad" {
			w.WriteHeader(http.StatusUnprocessableEntity)
		}
		w.Write([]byte(strings.Repeat("x", size)))
	}))
	defer srv.Close()
	c, err := httpkit.NewClient("keep", &httpkit.Config{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, tt := range []struct {
		path    string
		discard bool
		want    int
	}{
		{"/ok", false, size},
		{"/ok", true, 0},
		{"/bad", false, httpkit.MaxErrorRead},
		{"/bad", true, httpkit.MaxErrorRead},
	} {
		u, _ := c.Resolve(tt.path)
		resp, err := c.Do(context.Background(), httpkit.Request{Method: http.MethodGet, URL: u, DiscardSuccessBody: tt.discard})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Body) != tt.want {
			t.Errorf("GET %s (discard %v): kept %d bytes of the body, want %d", tt.path, tt.discard, len(resp.Body), tt.want)
		}
	}
}

// startingClock starts a server on its first Sleep: the first attempt meets
// a refused connection, the retry a server.
type startingClock struct {
	httpFakeClock
	start func()
	once  atomic.Bool
}

func (c *startingClock) Sleep(ctx context.Context, d time.Duration) error {
	if c.once.CompareAndSwap(false, true) {
		c.start()
	}
	return c.httpFakeClock.Sleep(ctx, d)
}

// TestHTTPClientRetriesRefusedConnection: a refused connection (an API
// restarting) is retried like a reset, and fails naming it once the retries
// run out.
func TestHTTPClientRetriesRefusedConnection(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now: connections are refused
	var got atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	retries := 3
	conn := &spec.Connection{Name: "refused", Type: httpkit.Type, Config: &httpkit.Config{BaseURL: "http://" + addr, MaxRetries: &retries}}
	c, err := httpkit.NewClient(conn.Name, conn.Config.(*httpkit.Config))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	u, _ := c.Resolve("/contacts")

	noRetry := 0
	c0, _ := httpkit.NewClient("refused0", &httpkit.Config{BaseURL: "http://" + addr, MaxRetries: &noRetry})
	defer c0.Close()
	_, err = c0.WithClock(&httpFakeClock{}).Do(context.Background(), httpkit.Request{Method: http.MethodPost, URL: u, Body: []byte(`{}`)})
	if err == nil || !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), "giving up after 1 attempt") {
		t.Fatalf("max_retries 0: err = %v, want a refused connection given up on", err)
	}

	clock := &startingClock{start: func() {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("listen again on %s: %v", addr, err)
			return
		}
		srv.Listener = l
		srv.Start()
	}}
	resp, err := c.WithClock(clock).Do(context.Background(), httpkit.Request{Method: http.MethodPost, URL: u, Body: []byte(`{}`)})
	if err != nil {
		t.Fatalf("refused once, then served: %v", err)
	}
	if resp.Status != http.StatusNoContent || resp.Attempts != 2 || got.Load() != 1 {
		t.Errorf("status %d after %d attempts, server saw %d requests; want 204 after 2, 1", resp.Status, resp.Attempts, got.Load())
	}
	if !httpkit.RetryableError(context.Background(), &net.OpError{Op: "dial", Err: errors.New("connect: connection refused")}) {
		t.Error("a refused dial is not retryable")
	}
}
