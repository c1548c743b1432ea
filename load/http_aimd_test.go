package load

import (
	"context"
	stdsync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/hoist-dev/hoist/internal/httpkit"
)

func httpDecimal(v int64) decimal128.Num { return decimal128.FromI64(v) }

func TestAIMDAdjusts(t *testing.T) {
	t.Parallel()
	ok := httpkit.Sample{Latency: time.Millisecond, Status: 200}
	tests := []struct {
		name    string
		max     int
		samples []httpkit.Sample
		want    int
	}{
		{"grows to the cap on success", 8, aimdRepeat(ok, 200), 8},
		{"429 halves", 16, append(aimdRepeat(ok, 200), httpkit.Sample{Status: 429}), 8},
		{"429s to requests sent one after another keep cutting to 1", 16, append(aimdRepeat(ok, 200), aimdRepeat(httpkit.Sample{Status: 429}, 5)...), 1},
		{"5xx and transport errors are not back pressure", 8, append(aimdRepeat(ok, 200), append(aimdRepeat(httpkit.Sample{Status: 503}, 50), aimdRepeat(httpkit.Sample{Failed: true}, 50)...)...), 8},
		{"latency growth shrinks", 16, append(aimdRepeat(ok, 200), aimdRepeat(httpkit.Sample{Latency: 200 * time.Millisecond, Status: 200}, 16)...), 12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := newAIMD(tt.max)
			for _, s := range tt.samples {
				release, err := a.Acquire(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				release(s)
			}
			if got := a.Limit(); got != tt.want {
				t.Errorf("limit = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestAIMDCutsOncePerRoundTrip: 429s to requests that were all in flight
// when the first came back cut once, not once each.
func TestAIMDCutsOncePerRoundTrip(t *testing.T) {
	t.Parallel()
	a := newAIMD(16)
	for range 200 {
		release, _ := a.Acquire(context.Background())
		release(httpkit.Sample{Latency: time.Millisecond, Status: 200})
	}
	var releases []func(httpkit.Sample)
	for range 8 {
		release, err := a.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		releases = append(releases, release)
	}
	for _, release := range releases {
		release(httpkit.Sample{Status: 429})
	}
	if got := a.Limit(); got != 8 {
		t.Errorf("limit after a burst of 8 concurrent 429s = %d, want 8 (one halving)", got)
	}
	release, _ := a.Acquire(context.Background())
	release(httpkit.Sample{Status: 429})
	if got := a.Limit(); got != 4 {
		t.Errorf("limit after a 429 sent after the cut = %d, want 4", got)
	}
}

func aimdRepeat(s httpkit.Sample, n int) []httpkit.Sample {
	out := make([]httpkit.Sample, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// TestAIMDEnforcesLimit: however many goroutines ask, no more than the
// current limit hold a slot.
func TestAIMDEnforcesLimit(t *testing.T) {
	t.Parallel()
	a := newAIMD(3)
	var inflight, peak atomic.Int32
	var wg stdsync.WaitGroup
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				release, err := a.Acquire(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				n := inflight.Add(1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				time.Sleep(50 * time.Microsecond)
				inflight.Add(-1)
				release(httpkit.Sample{Latency: time.Millisecond, Status: 200})
			}
		}()
	}
	wg.Wait()
	if p := peak.Load(); p > 3 || p < 2 {
		t.Errorf("peak in flight %d, want 2..3 (cap 3)", p)
	}
	ctx, cancel := context.WithCancel(context.Background())
	for range 3 {
		_, _ = a.Acquire(context.Background())
	}
	cancel()
	if _, err := a.Acquire(ctx); err == nil {
		t.Error("Acquire on a full gate with a cancelled ctx succeeded")
	}
}
