package httpkit

import (
	"context"
	"net/http"
	"slices"
	stdsync "sync"
	"testing"
	"time"
)

// TestWindowNeverExceeds: however many callers wait at once, no span of
// per holds more than n grants, and the window grants n a span.
func TestWindowNeverExceeds(t *testing.T) {
	const n, per = 5, 200 * time.Millisecond
	w := NewWindow(n, per)
	w.margin = 10 * time.Millisecond
	var mu stdsync.Mutex
	var at []time.Time
	var wg stdsync.WaitGroup
	start := time.Now()
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 2 {
				if err := w.Wait(context.Background()); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				at = append(at, time.Now())
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	for i := n; i < len(at); i++ {
		if d := at[i].Sub(at[i-n]); d < per {
			t.Fatalf("grants %d and %d are %s apart: %d in less than %s", i-n, i, d, n+1, per)
		}
	}
	// 16 grants: 5 at once, then 5 a span: three spans and a bit
	if took := time.Since(start); took > 3*per+per/2+100*time.Millisecond {
		t.Errorf("16 grants took %s, want about %s", took, 3*(per+w.margin))
	}
}

// TestWindowRestamp: a slot is counted from when its request was sent,
// not from when it was granted.
func TestWindowRestamp(t *testing.T) {
	const per = 150 * time.Millisecond
	w := NewWindow(1, per)
	w.margin = 0
	sent, err := w.WaitSent(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	late := time.Now().Add(100 * time.Millisecond) // it waited for a connection
	sent(late)
	w.Wait(context.Background())
	if now := time.Now(); now.Before(late.Add(per)) {
		t.Errorf("the next grant came %s after the send, before the span (%s) was over", now.Sub(late), per)
	}
}

// TestWindowObserve: an answer saying less is left than the window thinks
// (another client spends from the limit) holds the window back; one saying
// more changes nothing.
func TestWindowObserve(t *testing.T) {
	const per = 300 * time.Millisecond
	w := NewWindow(4, per).WithRemainingHeader("X-Left")
	sentAt := time.Now()
	if err := w.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("X-Left", "3") // as the window thinks: nothing to correct
	w.Observe(h, sentAt)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	for i := range 2 {
		if err := w.Wait(ctx); err != nil {
			t.Fatalf("grant %d: %v", i+2, err)
		}
	}
	h.Set("X-Left", "0") // the server counted 4 in its span; the window 3
	w.Observe(h, time.Now())
	start := time.Now()
	if err := w.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < per/2 {
		t.Errorf("after the server said none is left, the window granted at once (%s)", waited)
	}
}
