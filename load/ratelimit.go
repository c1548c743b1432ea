package load

import (
	"math"
	stdsync "sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/hoist-dev/hoist/sync/spec"
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
func SharedLimiter(conn *spec.Connection) *rate.Limiter {
	limit, burst := limiterSettings(conn.RateLimit)
	key := conn.Name + "\x00" + conn.BaseURL
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
// tokens of 10ms at the configured rate (at least one) absorbs that.
func limiterSettings(rl *spec.RateLimit) (rate.Limit, int) {
	if rl == nil || rl.RequestsPerSecond <= 0 {
		return rate.Inf, 1
	}
	reserve := max(1, int(math.Ceil(rl.RequestsPerSecond*sendJitter.Seconds())))
	return rate.Limit(rl.RequestsPerSecond), max(rl.Burst-reserve, 1)
}

// sendJitter is the send delay the burst reserve absorbs.
const sendJitter = 10 * time.Millisecond
