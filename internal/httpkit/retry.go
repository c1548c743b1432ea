package httpkit

import (
	"context"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	stdsync "sync"
	"syscall"
	"time"
)

// Retry defaults for http connections.
const (
	// DefaultMaxRetries is how many times a request is retried when the
	// connection sets no max_retries.
	DefaultMaxRetries = 5
	// defaultBackoffBase and defaultBackoffCap bound the exponential backoff:
	// attempt n waits a uniformly random time in [0, min(cap, base·2ⁿ)).
	defaultBackoffBase = 100 * time.Millisecond
	defaultBackoffCap  = 20 * time.Second
	// MaxServerWait is the longest Retry-After or reset we sit out inside a
	// run; a server asking for longer fails the batch (and the next run
	// delivers it) instead of stalling the sync silently.
	MaxServerWait = 5 * time.Minute
)

// Clock is the time source of retries and pacing, injectable in tests.
type Clock interface {
	Now() time.Time
	// Sleep waits d, or returns ctx.Err() when ctx ends first.
	Sleep(ctx context.Context, d time.Duration) error
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// Sleep waits d or until ctx is done.
func (SystemClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Backoff computes capped exponential backoff with full jitter, preferring
// the wait a server asks for. The zero value is usable.
type Backoff struct {
	MaxRetries int // retries after the first attempt; see NewBackoff for the default
	Base, Cap  time.Duration
	Clock      Clock

	mu  stdsync.Mutex
	rng *rand.Rand // nil: the global source
}

// NewBackoff returns a backoff with maxRetries (nil: DefaultMaxRetries) and
// the default base and cap. A seed makes the jitter reproducible in tests.
func NewBackoff(maxRetries *int, clock Clock, seed ...uint64) *Backoff {
	b := &Backoff{MaxRetries: DefaultMaxRetries, Base: defaultBackoffBase, Cap: defaultBackoffCap, Clock: clock}
	if maxRetries != nil {
		b.MaxRetries = *maxRetries
	}
	if b.Clock == nil {
		b.Clock = SystemClock{}
	}
	if len(seed) > 0 {
		b.rng = rand.New(rand.NewPCG(seed[0], seed[0]^0x9e3779b97f4a7c15))
	}
	return b
}

func (b *Backoff) float() float64 {
	if b.rng == nil {
		return rand.Float64()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.rng.Float64()
}

// Jitter returns the full-jitter wait before retry number attempt (0 for the
// first retry): uniform in [0, min(Cap, Base·2^attempt)).
func (b *Backoff) Jitter(attempt int) time.Duration {
	base, ceil := b.Base, b.Cap
	if base <= 0 {
		base = defaultBackoffBase
	}
	if ceil <= 0 {
		ceil = defaultBackoffCap
	}
	window := float64(base) * math.Pow(2, float64(min(attempt, 62)))
	window = min(window, float64(ceil))
	return time.Duration(b.float() * window)
}

// Delay returns the wait before retry number attempt after a response with
// status and header (header may be nil after a transport error). A server's
// own hint wins over the computed backoff, plus a little jitter so that the
// loaders it throttled together do not come back in lockstep.
func (b *Backoff) Delay(attempt, status int, h http.Header) (time.Duration, bool) {
	if d, ok := ServerDelay(status, h, b.Clock.Now()); ok {
		return d + time.Duration(b.float()*float64(min(b.Base, d/10+time.Millisecond))), true
	}
	return b.Jitter(attempt), false
}

// ServerDelay reads how long a server asks us to wait: Retry-After (delta
// seconds or an HTTP-date), else on a 429 the RateLimit-Reset (delta seconds,
// IETF draft) or X-RateLimit-Reset header (delta seconds, or a Unix time in
// seconds or milliseconds when the number is that large, as GitHub and others
// send). ok is false when no header gives a usable wait.
func ServerDelay(status int, h http.Header, now time.Time) (time.Duration, bool) {
	if h == nil {
		return 0, false
	}
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if secs, err := strconv.ParseFloat(v, 64); err == nil && secs >= 0 && !math.IsInf(secs, 0) {
			return time.Duration(secs * float64(time.Second)), true
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(t.Sub(now), 0), true
		}
	}
	if status != http.StatusTooManyRequests {
		return 0, false
	}
	if v := strings.TrimSpace(h.Get("RateLimit-Reset")); v != "" {
		if secs, err := strconv.ParseFloat(v, 64); err == nil && secs >= 0 {
			return time.Duration(secs * float64(time.Second)), true
		}
	}
	if v := strings.TrimSpace(h.Get("X-RateLimit-Reset")); v != "" {
		if n, err := strconv.ParseFloat(v, 64); err == nil && n >= 0 {
			switch {
			case n >= 1e12: // Unix milliseconds
				return max(time.UnixMilli(int64(n)).Sub(now), 0), true
			case n >= 1e9: // Unix seconds
				return max(time.Unix(int64(n), 0).Sub(now), 0), true
			default:
				return time.Duration(n * float64(time.Second)), true
			}
		}
	}
	return 0, false
}

// RetryableStatus reports whether a response status is worth retrying: 429
// and every 5xx. Other 4xx say the request itself is wrong; retrying it only
// burns the rate limit.
func RetryableStatus(code int) bool {
	return code == http.StatusTooManyRequests || code >= 500 && code <= 599
}

// RetryableError reports whether a transport error is transient: a timeout
// of the attempt (not of the caller's ctx), a connection reset or refused, or
// a server that closed the connection mid-exchange.
func RetryableError(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil {
		return false
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout(),
		errors.Is(err, syscall.ECONNRESET),
		// refused: nothing was sent, and a server restarting or a load
		// balancer between backends refuses for a moment
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNABORTED),
		errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF):
		return true
	}
	// net/http reports some closed-connection cases with unwrapped text.
	msg := err.Error()
	for _, s := range []string{"connection reset", "connection refused", "broken pipe", "EOF", "server closed", "connection was forcibly closed"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
