package load

import (
	"context"
	stdsync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

func httpDecimal(v int64) decimal128.Num { return decimal128.FromI64(v) }

func TestAIMDAdjusts(t *testing.T) {
	t.Parallel()
	ok := Sample{Latency: time.Millisecond, Status: 200}
	tests := []struct {
		name    string
		max     int
		samples []Sample
		want    int
	}{
		{"grows to the cap on success", 8, aimdRepeat(ok, 200), 8},
		{"429 halves", 16, append(aimdRepeat(ok, 200), Sample{Status: 429}), 8},
		{"a burst of 429 cuts once per window", 16, append(aimdRepeat(ok, 200), aimdRepeat(Sample{Status: 429}, 6)...), 8},
		{"sustained 429 keeps cutting to 1", 16, append(aimdRepeat(ok, 200), aimdRepeat(Sample{Status: 429}, 100)...), 1},
		{"5xx and transport errors are not back pressure", 8, append(aimdRepeat(ok, 200), append(aimdRepeat(Sample{Status: 503}, 50), aimdRepeat(Sample{Failed: true}, 50)...)...), 8},
		{"latency growth shrinks", 16, append(aimdRepeat(ok, 200), aimdRepeat(Sample{Latency: 200 * time.Millisecond, Status: 200}, 16)...), 12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := newAIMD(tt.max)
			for _, s := range tt.samples {
				if err := a.Acquire(context.Background()); err != nil {
					t.Fatal(err)
				}
				a.Release(s)
			}
			if got := a.Limit(); got != tt.want {
				t.Errorf("limit = %d, want %d", got, tt.want)
			}
		})
	}
}

func aimdRepeat(s Sample, n int) []Sample {
	out := make([]Sample, n)
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
				if err := a.Acquire(context.Background()); err != nil {
					t.Error(err)
					return
				}
				n := inflight.Add(1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				time.Sleep(50 * time.Microsecond)
				inflight.Add(-1)
				a.Release(Sample{Latency: time.Millisecond, Status: 200})
			}
		}()
	}
	wg.Wait()
	if p := peak.Load(); p > 3 || p < 2 {
		t.Errorf("peak in flight %d, want 2..3 (cap 3)", p)
	}
	ctx, cancel := context.WithCancel(context.Background())
	for range 3 {
		_ = a.Acquire(context.Background())
	}
	cancel()
	if err := a.Acquire(ctx); err == nil {
		t.Error("Acquire on a full gate with a cancelled ctx succeeded")
	}
}
