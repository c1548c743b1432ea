package load

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	stdsync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hoist-dev/hoist/internal/httpkit"
	"github.com/hoist-dev/hoist/sync/spec"
)

// httpFakeClock records sleeps and returns at once.
type httpFakeClock struct {
	mu     stdsync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func (c *httpFakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *httpFakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return ctx.Err()
}

func TestServerDelay(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	hdr := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	tests := []struct {
		name   string
		status int
		h      http.Header
		want   time.Duration
		ok     bool
	}{
		{"retry-after seconds", 429, hdr("Retry-After", "3"), 3 * time.Second, true},
		{"retry-after zero", 429, hdr("Retry-After", "0"), 0, true},
		{"retry-after fraction", 503, hdr("Retry-After", "1.5"), 1500 * time.Millisecond, true},
		{"retry-after http-date", 503, hdr("Retry-After", now.Add(90*time.Second).Format(http.TimeFormat)), 90 * time.Second, true},
		{"retry-after date in the past", 429, hdr("Retry-After", now.Add(-time.Hour).Format(http.TimeFormat)), 0, true},
		{"retry-after garbage", 429, hdr("Retry-After", "soon"), 0, false},
		{"retry-after negative", 429, hdr("Retry-After", "-4"), 0, false},
		{"retry-after wins over reset", 429, hdr("Retry-After", "2", "RateLimit-Reset", "9"), 2 * time.Second, true},
		{"ratelimit-reset delta on 429", 429, hdr("RateLimit-Reset", "4"), 4 * time.Second, true},
		{"ratelimit-reset ignored on 503", 503, hdr("RateLimit-Reset", "4"), 0, false},
		{"x-ratelimit-reset delta", 429, hdr("X-RateLimit-Reset", "5"), 5 * time.Second, true},
		{"x-ratelimit-reset unix seconds", 429, hdr("X-RateLimit-Reset", "1795424410"), time.Unix(1795424410, 0).Sub(now), true},
		{"x-ratelimit-reset unix millis", 429, hdr("X-RateLimit-Reset", "1795424402500"), time.UnixMilli(1795424402500).Sub(now), true},
		{"x-ratelimit-reset past epoch", 429, hdr("X-RateLimit-Reset", "1700000000"), 0, true},
		{"no header", 429, hdr(), 0, false},
		{"nil header", 429, nil, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := httpkit.ServerDelay(tt.status, tt.h, now)
			if ok != tt.ok || got != tt.want {
				t.Errorf("httpkit.ServerDelay = %v, %v; want %v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestJitterStaysInCappedWindow(t *testing.T) {
	t.Parallel()
	b := httpkit.NewBackoff(nil, &httpFakeClock{}, 42)
	b.Base, b.Cap = 100*time.Millisecond, 2*time.Second
	for attempt := 0; attempt < 12; attempt++ {
		window := min(b.Cap, b.Base<<attempt)
		var hi time.Duration
		for i := 0; i < 200; i++ {
			d := b.Jitter(attempt)
			if d < 0 || d >= window {
				t.Fatalf("attempt %d: jitter %v outside [0, %v)", attempt, d, window)
			}
			hi = max(hi, d)
		}
		// Full jitter spreads over the whole window, not just its start.
		if hi < window/2 {
			t.Errorf("attempt %d: max jitter %v of 200 draws, want above %v", attempt, hi, window/2)
		}
	}
}

func TestRetryableStatus(t *testing.T) {
	t.Parallel()
	for code, want := range map[int]bool{200: false, 400: false, 401: false, 403: false, 404: false, 408: false,
		409: false, 422: false, 429: true, 500: true, 502: true, 503: true, 504: true} {
		if got := httpkit.RetryableStatus(code); got != want {
			t.Errorf("httpkit.RetryableStatus(%d) = %v, want %v", code, got, want)
		}
	}
}

func TestClientRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		answers   []int // status per attempt; the last repeats
		header    http.Header
		retries   int
		wantCalls int
		wantErr   bool
		wantSleep time.Duration // minimum of the first sleep
	}{
		{"5xx then success", []int{503, 500, 200}, nil, 5, 3, false, 0},
		{"400 is never retried", []int{400}, nil, 5, 1, false, 0},
		{"404 is never retried", []int{404}, nil, 5, 1, false, 0},
		{"429 honours retry-after", []int{429, 200}, http.Header{"Retry-After": {"7"}}, 5, 2, false, 7 * time.Second},
		{"gives up after max_retries", []int{502}, nil, 3, 4, true, 0},
		{"max_retries 0 means one attempt", []int{500}, nil, 0, 1, true, 0},
		// a 429 that says when to come back paces, it does not fail
		{"hinted 429s spend no retries", []int{429, 429, 429, 429, 429, 429, 429, 429, 200}, http.Header{"Retry-After": {"1"}}, 2, 9, false, time.Second},
		{"unhinted 429s do", []int{429}, nil, 2, 3, true, 0},
		{"endless hinted 429s end", []int{429}, http.Header{"Retry-After": {"0"}}, 2, httpkit.MaxPacedRetries + 1, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := int(calls.Add(1)) - 1
				code := tt.answers[min(n, len(tt.answers)-1)]
				for k, v := range tt.header {
					w.Header()[k] = v
				}
				w.WriteHeader(code)
			}))
			defer srv.Close()
			retries := tt.retries
			c, err := httpkit.NewClient("retry-"+tt.name, &httpkit.Config{BaseURL: srv.URL, MaxRetries: &retries})
			if err != nil {
				t.Fatal(err)
			}
			clock := &httpFakeClock{now: time.Now()}
			c = c.WithClock(clock)
			u, _ := url.Parse(srv.URL + "/x")
			resp, err := c.Do(context.Background(), httpkit.Request{Method: http.MethodPost, URL: u, Body: []byte(`{}`)})
			if got := int(calls.Load()); got != tt.wantCalls {
				t.Errorf("server saw %d calls, want %d", got, tt.wantCalls)
			}
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			var se *httpkit.StatusError
			if tt.wantErr && !errors.As(err, &se) {
				t.Errorf("error %v is not a *httpkit.StatusError", err)
			}
			if !tt.wantErr && resp.Attempts != tt.wantCalls {
				t.Errorf("Attempts = %d, want %d", resp.Attempts, tt.wantCalls)
			}
			if tt.wantSleep > 0 && (len(clock.sleeps) == 0 || clock.sleeps[0] < tt.wantSleep) {
				t.Errorf("sleeps %v, want the first at least %v", clock.sleeps, tt.wantSleep)
			}
		})
	}
}

func TestClientRetriesConnectionReset(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	c, err := httpkit.NewClient("reset", &httpkit.Config{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	c = c.WithClock(&httpFakeClock{})
	u, _ := url.Parse(srv.URL)
	// A POST without an Idempotency-Key is not replayed by net/http itself,
	// so a success here proves our retry handled the reset.
	resp, err := c.Do(context.Background(), httpkit.Request{Method: http.MethodPost, URL: u, Body: []byte(`[]`)})
	if err != nil {
		t.Fatalf("Do after a reset: %v", err)
	}
	if resp.Status != http.StatusNoContent || calls.Load() != 2 {
		t.Errorf("status %d after %d calls, want 204 after 2", resp.Status, calls.Load())
	}
}

func TestClientTimeoutIsRetried(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			<-r.Context().Done() // hang until the client gives up
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	c, err := httpkit.NewClient("timeout", &httpkit.Config{BaseURL: srv.URL, Timeout: spec.Duration(100 * time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	c = c.WithClock(&httpFakeClock{})
	u, _ := url.Parse(srv.URL)
	start := time.Now()
	resp, err := c.Do(context.Background(), httpkit.Request{Method: http.MethodGet, URL: u})
	if err != nil || resp.Status != 200 {
		t.Fatalf("Do = %v, %v; want 200 after a retried timeout", resp, err)
	}
	if calls.Load() != 2 || time.Since(start) < 100*time.Millisecond {
		t.Errorf("%d calls in %v, want 2 calls after the 100ms timeout", calls.Load(), time.Since(start))
	}
}
