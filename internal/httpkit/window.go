package httpkit

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	stdsync "sync"
	"time"
)

// Pacer decides when the next attempt may be sent; the connection's token
// bucket is one, a Window another.
type Pacer interface {
	// Wait returns when one more attempt may go, at once (it counts it).
	Wait(ctx context.Context) error
}

// Window allows at most n attempts in any span of length per: the rolling
// limit HubSpot enforces (190 requests in any ten seconds). A token bucket
// cannot hold it at full speed: to never exceed n in a window its burst
// plus per × rate must stay at n, so it runs well below the limit. A window
// remembers the last n send times and lets the next attempt go when the
// oldest of them leaves the span, so a client sends exactly n per span.
// margin widens the span a little, for requests that reach the server
// later than they were sent and would else be counted in the next window
// with the ones behind them. Each slot is stamped again when its request
// has been written (WaitSent), so the margin covers only what happens
// after: the network, and the server getting to the request. 200ms held
// the limit in bench-hubspot on a loaded 2-core machine, where 50ms let a
// 191st request into ten seconds; it costs 2% of the limit (190 per 10.2s).
type Window struct {
	n      int
	per    time.Duration
	margin time.Duration

	mu   stdsync.Mutex
	sent []time.Time // ring of the last n send times
	next int         // the oldest slot

	remainingHeader string // see WithRemainingHeader
}

// WindowMargin is how much wider than the API's span a Window waits.
const WindowMargin = 200 * time.Millisecond

// NewWindow allows n attempts in any per (n ≥ 1).
func NewWindow(n int, per time.Duration) *Window {
	return &Window{n: max(n, 1), per: per, margin: WindowMargin, sent: make([]time.Time, 0, max(n, 1))}
}

// Limit is the window's n and span.
func (w *Window) Limit() (int, time.Duration) { return w.n, w.per }

// Wait implements Pacer.
func (w *Window) Wait(ctx context.Context) error {
	_, err := w.WaitSent(ctx)
	return err
}

// WaitSent is Wait that also returns how to say when the attempt was
// really sent (its request written): the slot is stamped again then, so a
// request that waited for a connection, or for the CPU, after its slot was
// granted is counted from when the API can have seen it, not from before.
func (w *Window) WaitSent(ctx context.Context) (func(time.Time), error) {
	for {
		w.mu.Lock()
		now := time.Now()
		if len(w.sent) < w.n {
			w.sent = append(w.sent, now)
			sent := w.restamp(len(w.sent)-1, now)
			w.mu.Unlock()
			return sent, nil
		}
		free := w.sent[w.next].Add(w.per + w.margin)
		if !now.Before(free) {
			w.sent[w.next] = now
			sent := w.restamp(w.next, now)
			w.next = (w.next + 1) % w.n
			w.mu.Unlock()
			return sent, nil
		}
		w.mu.Unlock()
		t := time.NewTimer(free.Sub(now))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// restamp returns the function that moves slot i's stamp from granted to
// a later send time (once; a slot reused meanwhile is left alone).
func (w *Window) restamp(i int, granted time.Time) func(time.Time) {
	return func(t time.Time) {
		w.mu.Lock()
		defer w.mu.Unlock()
		if i < len(w.sent) && w.sent[i].Equal(granted) && t.After(granted) {
			w.sent[i] = t
		}
	}
}

// Remaining tells the window what the server says is left of its span
// (another client of the same limit spends from it too): when that is
// less than the window itself would allow, the difference is counted as
// sent now, so the window does not send what the server would refuse.
func (w *Window) Remaining(left int) { w.remaining(left, time.Now()) }

// remaining is Remaining for an answer to a request sent at sent: the
// server counted it a little later, over the span before, so the window's
// own count is taken from sent's span to now, which holds every request
// of this window the server can have counted (and maybe a few more): the
// correction is never too large, however late the answer is read.
func (w *Window) remaining(left int, sent time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Now()
	mine := 0
	for _, t := range w.sent {
		if t.After(sent.Add(-w.per - w.margin)) {
			mine++
		}
	}
	for extra := w.n - mine - left; extra > 0; extra-- {
		if len(w.sent) < w.n {
			w.sent = append(w.sent, now)
			continue
		}
		// replace the oldest: it leaves the span first
		w.sent[w.next] = now
		w.next = (w.next + 1) % w.n
	}
}

// SentPacer is a Pacer that is told when each attempt was really sent
// (see Window.WaitSent).
type SentPacer interface {
	Pacer
	WaitSent(ctx context.Context) (func(time.Time), error)
}

// PaceObserver is a Pacer that also reads the API's own count of the
// limit from each answer's headers.
type PaceObserver interface {
	Pacer
	// Observe reads an answer to a request sent at sent.
	Observe(h http.Header, sent time.Time)
}

// WithRemainingHeader makes the window read, from every answer, how many
// requests the API says are left of its span (HubSpot's
// X-HubSpot-RateLimit-Remaining; see Remaining). It returns w.
func (w *Window) WithRemainingHeader(name string) *Window {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.remainingHeader = name
	return w
}

// Observe implements PaceObserver with the remaining header (see
// remaining).
func (w *Window) Observe(h http.Header, sent time.Time) {
	w.mu.Lock()
	name := w.remainingHeader
	w.mu.Unlock()
	if name == "" || h == nil {
		return
	}
	if left, err := strconv.Atoi(strings.TrimSpace(h.Get(name))); err == nil && left >= 0 {
		w.remaining(left, sent)
	}
}

// windows holds one Window per connection for the whole process, as
// limiters does: every sync on a connection shares its limit.
var windows = struct {
	stdsync.Mutex
	m map[string]*Window
}{m: map[string]*Window{}}

// SharedWindow returns the process-wide window of a connection; a later
// call with other settings makes a new window for them.
func SharedWindow(key string, n int, per time.Duration) *Window {
	windows.Lock()
	defer windows.Unlock()
	if w, ok := windows.m[key]; ok && w.n == n && w.per == per {
		return w
	}
	w := NewWindow(n, per)
	windows.m[key] = w
	return w
}
