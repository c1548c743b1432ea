package httpkit

import (
	"context"
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
// later than they were sent (a slow connect) and would else be counted in
// the next window with the ones behind them.
type Window struct {
	n      int
	per    time.Duration
	margin time.Duration

	mu   stdsync.Mutex
	sent []time.Time // ring of the last n send times
	next int         // the oldest slot
}

// WindowMargin is how much wider than the API's span a Window waits.
const WindowMargin = 50 * time.Millisecond

// NewWindow allows n attempts in any per (n ≥ 1).
func NewWindow(n int, per time.Duration) *Window {
	return &Window{n: max(n, 1), per: per, margin: WindowMargin, sent: make([]time.Time, 0, max(n, 1))}
}

// Limit is the window's n and span.
func (w *Window) Limit() (int, time.Duration) { return w.n, w.per }

// Wait implements Pacer.
func (w *Window) Wait(ctx context.Context) error {
	for {
		w.mu.Lock()
		now := time.Now()
		if len(w.sent) < w.n {
			w.sent = append(w.sent, now)
			w.mu.Unlock()
			return nil
		}
		free := w.sent[w.next].Add(w.per + w.margin)
		if !now.Before(free) {
			w.sent[w.next] = now
			w.next = (w.next + 1) % w.n
			w.mu.Unlock()
			return nil
		}
		w.mu.Unlock()
		t := time.NewTimer(free.Sub(now))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Remaining tells the window what the server says is left of its span
// (another client of the same limit spends from it too): when that is
// less than the window itself would allow, the difference is counted as
// sent now, so the window does not send what the server would refuse.
func (w *Window) Remaining(left int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Now()
	inSpan := 0
	for _, t := range w.sent {
		if now.Sub(t) < w.per+w.margin {
			inSpan++
		}
	}
	for extra := w.n - inSpan - left; extra > 0; extra-- {
		if len(w.sent) < w.n {
			w.sent = append(w.sent, now)
			continue
		}
		// replace the oldest: it leaves the span first
		w.sent[w.next] = now
		w.next = (w.next + 1) % w.n
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
