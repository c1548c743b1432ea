package state

import (
	"bytes"
	"context"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// peakHeap samples HeapInuse every few milliseconds while f runs.
func peakHeap(f func()) uint64 {
	runtime.GC()
	var peak atomic.Uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		var ms runtime.MemStats
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	f()
	close(done)
	<-stopped
	return peak.Load()
}

// TestFileCommitMillionEntriesFlatMemory commits 1,000,000 entries (or
// $HOIST_STATE_MEM_ROWS), then merges a same-size overwrite into them: both sides stream, so the
// heap stays far below the ~110 MB of row data.
func TestFileCommitMillionEntriesFlatMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("1M-entry commit skipped in -short mode")
	}
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("HOIST_STATE_MEM_ROWS")); err == nil && v > 0 {
		n = v // e.g. 10000000 to check that memory stays flat at 10M
	}
	const limit = 64 << 20
	s := openTestStore(t, t.TempDir())
	ctx := context.Background()
	for version := 1; version <= 2; version++ {
		var err error
		peak := peakHeap(func() { err = s.Commit(ctx, "big", &Commit{Delta: custIter(n, version)}) })
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("commit %d of %d entries: peak HeapInuse %.1f MB", version, n, float64(peak)/(1<<20))
		if peak > limit {
			t.Fatalf("commit %d: peak HeapInuse %d MB, want under %d MB", version, peak>>20, limit>>20)
		}
	}
	it, err := s.Snapshot(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	count := 0
	var key, row []byte
	peak := peakHeap(func() {
		for it.Next() {
			key, row = custKey(key[:0], count), custRow(row[:0], count, 2)
			if e := it.Entry(); !bytes.Equal(e.Key, key) || !bytes.Equal(e.Row, row) {
				t.Fatalf("entry %d = %s=%s, want %s=%s", count, e.Key, e.Row, key, row)
			}
			count++
		}
	})
	if it.Err() != nil || count != n {
		t.Fatalf("read %d entries, err %v", count, it.Err())
	}
	t.Logf("reading %d entries: peak HeapInuse %.1f MB", n, float64(peak)/(1<<20))
	if peak > limit {
		t.Fatalf("snapshot read: peak HeapInuse %d MB, want under %d MB", peak>>20, limit>>20)
	}
}
