package httpkit

import (
	"context"
	"math"
	stdsync "sync"
	"time"

	"golang.org/x/time/rate"
)

// limiters holds one token bucket per HTTP connection for the whole process,
// so every loader of every sync (and every http source) that talks to the same
// API draws from one budget: the API's limit is per credential, not per sync.
var limiters = struct {
	stdsync.Mutex
	m map[string]*rate.Limiter
}{m: map[string]*rate.Limiter{}}

// SharedLimiter returns the process-wide limiter of an http connection, keyed
// by connection name and base_url. A connection without rate_limit gets an
// unlimited limiter. If the same key is seen again with different settings
// (a reloaded spec), the existing limiter is retuned in place so callers that
// already hold it follow the new settings.
func SharedLimiter(name string, conn *Config) *rate.Limiter {
	limit, burst := limiterSettings(conn.RateLimit)
	key := name + "\x00" + conn.BaseURL
	limiters.Lock()
	defer limiters.Unlock()
	if l, ok := limiters.m[key]; ok {
		if l.Limit() != limit {
			l.SetLimit(limit)
		}
		if l.Burst() != burst {
			l.SetBurst(burst)
		}
		return l
	}
	l := rate.NewLimiter(limit, burst)
	limiters.m[key] = l
	return l
}

// limiterSettings turns a rate_limit block into limiter settings. The burst
// defaults to one request (no burst). Part of a larger burst is kept in
// reserve: a token is taken here but the request reaches the API a little
// later, by a delay that varies (timer wake-ups, a new connection), so
// requests can arrive closer together than their tokens were issued and the
// API's own bucket would count a few too many in one second. Reserving the
// tokens of 25ms at the configured rate (at least one) absorbs that.
func limiterSettings(rl *RateLimit) (rate.Limit, int) {
	if rl == nil || rl.RequestsPerSecond <= 0 {
		return rate.Inf, 1
	}
	reserve := max(1, int(math.Ceil(rl.RequestsPerSecond*sendJitter.Seconds())))
	return rate.Limit(rl.RequestsPerSecond), max(rl.Burst-reserve, 1)
}

// sendJitter is the send delay the burst reserve absorbs.
const sendJitter = 25 * time.Millisecond

// WaitToken takes one token from l at the moment it returns. Unlike
// rate.Limiter.Wait, which reserves a token for a future instant and then
// sleeps, it never hands out a token late: a goroutine that wakes up late
// (a busy machine) would otherwise send right behind one that woke on time,
// and the API would see requests bunched beyond its limit. A late wake-up
// here only costs throughput, never the limit.
func WaitToken(ctx context.Context, l *rate.Limiter) error {
	for {
		now := time.Now()
		if l.AllowN(now, 1) {
			return nil
		}
		lim := float64(l.Limit())
		wait := time.Millisecond
		if lim > 0 {
			wait = time.Duration((1 - l.TokensAt(now)) / lim * float64(time.Second))
		}
		t := time.NewTimer(max(wait, 100*time.Microsecond))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
