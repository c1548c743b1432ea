package load

import (
	"context"
	"net/http"
	stdsync "sync"
	"time"

	"github.com/hoist-dev/hoist/internal/httpkit"
)

const (
	// DefaultMaxConcurrency caps adaptive concurrency when the connection
	// sets no max_concurrency.
	DefaultMaxConcurrency = 16
	// aimdStart is where the limit starts: low enough not to stampede an API,
	// high enough that additive increase reaches a typical limit quickly.
	aimdStart = 4
	// aimdLatencyFactor and aimdLatencySlack say when latency has grown: a
	// window's mean latency above factor × baseline and baseline + slack. The
	// slack keeps scheduler noise on sub-millisecond APIs from counting.
	aimdLatencyFactor = 2.0
	aimdLatencySlack  = 20 * time.Millisecond
	// aimdLatencyBackoff is the multiplicative decrease on latency growth,
	// gentler than the halving on 429.
	aimdLatencyBackoff = 0.75
)

// aimd is an adaptive concurrency limit (additive increase, multiplicative
// decrease) and the semaphore that enforces it. Every window of `limit`
// completed attempts without trouble raises the limit by one; a 429 halves it
// once per round trip (only 429s to requests sent after the last cut count,
// as TCP reacts to one loss per window in flight); a window whose mean
// latency grew well past the best seen lowers it by a quarter. Transport
// errors and 5xx do not move it: they are faults, not back pressure, and the
// retry backoff already spaces them.
type aimd struct {
	mu       stdsync.Mutex
	limit    float64
	max      float64
	inflight int
	waiters  []chan struct{}

	winN      int // attempts answered (2xx, 4xx) in this window
	winLatN   int
	winLat    time.Duration
	epoch     uint64 // bumped by every decrease
	baseline  time.Duration
	increases int
	decreases int
}

func newAIMD(maxConc int) *aimd {
	if maxConc <= 0 {
		maxConc = DefaultMaxConcurrency
	}
	return &aimd{limit: float64(min(aimdStart, maxConc)), max: float64(maxConc)}
}

// Baseline is the best mean latency seen (0 before the first window).
func (a *aimd) Baseline() time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.baseline
}

// Limit returns the current concurrency limit.
func (a *aimd) Limit() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return int(a.limit)
}

// Acquire takes a slot, waiting while the limit is reached. The returned
// release frees it and feeds the attempt's outcome into the limit.
func (a *aimd) Acquire(ctx context.Context) (func(httpkit.Sample), error) {
	a.mu.Lock()
	if a.inflight < int(a.limit) && len(a.waiters) == 0 {
		a.inflight++
		epoch := a.epoch
		a.mu.Unlock()
		return a.releaser(epoch), nil
	}
	ch := make(chan struct{})
	a.waiters = append(a.waiters, ch)
	a.mu.Unlock()
	select {
	case <-ch:
		a.mu.Lock()
		epoch := a.epoch
		a.mu.Unlock()
		return a.releaser(epoch), nil
	case <-ctx.Done():
		a.mu.Lock()
		defer a.mu.Unlock()
		for i, w := range a.waiters {
			if w == ch {
				a.waiters = append(a.waiters[:i], a.waiters[i+1:]...)
				return nil, ctx.Err()
			}
		}
		// Granted while we were giving up: hand the slot on.
		a.inflight--
		a.wake()
		return nil, ctx.Err()
	}
}

// A request that has not been answered long after the others are (an
// API that accepted it and never answers, until the client's timeout of
// 30s) stops counting against the limit, as TCP stops counting a segment
// presumed lost: otherwise a few such requests hold every slot and the
// whole load waits for their timeouts (bench-hubspot's fault mix, with
// the limit halved by 429s, stood still for 30s at a time). It still runs
// until it is answered or times out.
const (
	aimdStaleMin    = 2 * time.Second
	aimdStaleFactor = 10 // × the baseline latency
)

func (a *aimd) releaser(epoch uint64) func(httpkit.Sample) {
	a.mu.Lock()
	stale := max(aimdStaleMin, aimdStaleFactor*a.baseline)
	a.mu.Unlock()
	var once stdsync.Once
	free := func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.inflight--
		a.wake()
	}
	t := time.AfterFunc(stale, func() { once.Do(free) })
	return func(s httpkit.Sample) {
		t.Stop()
		once.Do(free)
		a.release(epoch, s)
	}
}

func (a *aimd) release(epoch uint64, s httpkit.Sample) {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case s.Failed || s.Status >= 500:
		// a fault, not back pressure
	case s.Status == http.StatusTooManyRequests:
		// React once per round trip, as TCP does: a 429 to a request sent
		// before the last cut says nothing the cut did not already answer.
		if epoch == a.epoch {
			a.decrease(0.5)
		}
	default:
		a.winN++
		a.winLatN++
		a.winLat += s.Latency
	}
	if a.winN >= max(int(a.limit), 1) {
		a.endWindow()
	}
	a.wake()
}

func (a *aimd) endWindow() {
	defer a.resetWindow()
	if a.winLatN == 0 {
		return
	}
	mean := a.winLat / time.Duration(a.winLatN)
	switch {
	case a.baseline == 0 || mean < a.baseline:
		a.baseline = mean
	default:
		// Let the baseline follow a slowly changing API instead of holding
		// on to one lucky window forever.
		a.baseline += (mean - a.baseline) / 16
	}
	if float64(mean) > aimdLatencyFactor*float64(a.baseline) && mean > a.baseline+aimdLatencySlack {
		a.decrease(aimdLatencyBackoff)
		return
	}
	a.limit = min(a.max, a.limit+1)
	a.increases++
}

// decrease cuts the limit and starts a new epoch: only requests sent from
// now on can cause the next cut.
func (a *aimd) decrease(factor float64) {
	a.limit = max(1, a.limit*factor)
	a.decreases++
	a.epoch++
	a.resetWindow()
}

func (a *aimd) resetWindow() {
	a.winN, a.winLatN, a.winLat = 0, 0, 0
}

// wake hands free slots to waiters in arrival order; called with mu held.
func (a *aimd) wake() {
	for len(a.waiters) > 0 && a.inflight < int(a.limit) {
		ch := a.waiters[0]
		a.waiters = a.waiters[1:]
		a.inflight++
		close(ch)
	}
}
