package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/sync/diff"
	"github.com/hoist-dev/hoist/sync/state"
)

// syncName is the one sync the bench's state store holds.
const syncName = "bench_diff"

// sortMemory is the sorter's budget: the pipeline's default (sync.Options
// leaves SortMemory 0). Tests lower it to force spills on small inputs.
var sortMemory = diff.DefaultSortMemory

// phaseResult is what a phase process reports to the orchestrator (one JSON
// line on stdout).
type phaseResult struct {
	Phase     string  `json:"phase"`
	Rows      int     `json:"rows"`
	Seconds   float64 `json:"seconds"`       // whole phase
	GenSecs   float64 `json:"gen_seconds"`   // of which: generating source records
	SortSecs  float64 `json:"sort_seconds"`  // of which: encode + sort + spill (with generation)
	MergeSecs float64 `json:"merge_seconds"` // of which: merge against the snapshot
	PeakKB    int64   `json:"peak_rss_kb"`   // VmHWM at the end of the phase
	Spills    int     `json:"spills"`
	Adds      int64   `json:"adds"`
	Changes   int64   `json:"changes"`
	Removes   int64   `json:"removes"`
	Unchanged int64   `json:"unchanged"`
	SnapRows  int64   `json:"snapshot_rows"`
}

// sorted feeds rows through the pipeline's encoding and the spilling sorter,
// exactly as sync.runDiff does (no cursor, so aux is empty), and returns the
// key-ordered iterator. gen reports time spent generating records.
func sorted(ctx context.Context, g *rowGen, tmp string, gen *time.Duration) (*diff.SortedIter, int, error) {
	sorter := diff.NewSorter(tmp, sortMemory)
	keyCols := make([]arrow.Array, 1)
	var keyBuf, rowBuf []byte
	for {
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		t := time.Now()
		rec := g.Next()
		*gen += time.Since(t)
		if rec == nil {
			break
		}
		enc := diff.NewRowEncoder(rec)
		keyCols[0] = rec.Column(0)
		for i := 0; i < int(rec.NumRows()); i++ {
			var err error
			keyBuf, err = diff.AppendKey(keyBuf[:0], keyCols, i)
			if err != nil {
				rec.Release()
				return nil, 0, fmt.Errorf("row %d: %w", i, err)
			}
			rowBuf = enc.Append(rowBuf[:0], i)
			if err := sorter.Add(keyBuf, rowBuf, nil); err != nil {
				rec.Release()
				return nil, 0, err
			}
		}
		rec.Release()
	}
	it, err := sorter.Iter()
	if err != nil {
		return nil, 0, err
	}
	return it, sorter.Spilled(), nil
}

// sortedDelta presents the sorter's output as the state commit's delta: the
// acknowledged adds of a first run, in key order.
type sortedDelta struct{ it *diff.SortedIter }

func (d sortedDelta) Next() bool         { return d.it.Next() }
func (d sortedDelta) Entry() state.Entry { return state.Entry{Key: d.it.Key(), Row: d.it.Row()} }
func (d sortedDelta) Err() error         { return d.it.Err() }
func (d sortedDelta) Close() error       { return d.it.Close() }

// openStore opens the file state store the CLI would use for state dir.
func openStore(ctx context.Context, dir string) (state.Store, error) {
	return state.Open(ctx, "file://"+filepath.Join(dir, "state"), dir)
}

// buildPhase commits an n-row snapshot, as a first full run would.
func buildPhase(ctx context.Context, dir string, n int) (*phaseResult, error) {
	start := time.Now()
	res := &phaseResult{Phase: "build", Rows: n}
	st, err := openStore(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	tmp, err := os.MkdirTemp(dir, "sort-*")
	if err != nil {
		return nil, fmt.Errorf("create sort folder: %w", err)
	}
	defer os.RemoveAll(tmp)

	g := newRowGen(memory.DefaultAllocator, n, false)
	defer g.Release()
	var gen time.Duration
	it, spills, err := sorted(ctx, g, tmp, &gen)
	if err != nil {
		return nil, fmt.Errorf("sort snapshot rows: %w", err)
	}
	delta := sortedDelta{it: it}
	defer delta.Close()
	if err := st.Commit(ctx, syncName, &state.Commit{Delta: delta, Run: state.Run{Status: "ok", Mode: "upsert", StartedAt: start.UTC(), RowsRead: int64(n), Delivered: int64(n)}}); err != nil {
		return nil, err
	}
	ss, err := st.Get(ctx, syncName)
	if err != nil {
		return nil, err
	}
	if ss.SnapshotRows != int64(n) {
		return nil, fmt.Errorf("snapshot holds %d rows, want %d", ss.SnapshotRows, n)
	}
	res.Seconds, res.GenSecs = time.Since(start).Seconds(), gen.Seconds()
	res.Spills, res.SnapRows = spills, ss.SnapshotRows
	res.PeakKB, err = peakRSS()
	return res, err
}

// diffPhase classifies n edited rows against the committed snapshot: the
// sort and merge of sync.runDiff, counting events instead of writing them to
// the changeset.
func diffPhase(ctx context.Context, dir string, n int) (*phaseResult, error) {
	start := time.Now()
	res := &phaseResult{Phase: "diff", Rows: n}
	st, err := openStore(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	tmp, err := os.MkdirTemp(dir, "sort-*")
	if err != nil {
		return nil, fmt.Errorf("create sort folder: %w", err)
	}
	defer os.RemoveAll(tmp)

	g := newRowGen(memory.DefaultAllocator, n, true)
	defer g.Release()
	var gen time.Duration
	it, spills, err := sorted(ctx, g, tmp, &gen)
	if err != nil {
		return nil, fmt.Errorf("sort extracted rows: %w", err)
	}
	defer it.Close()
	res.SortSecs = time.Since(start).Seconds()
	mergeStart := time.Now()
	snap, err := st.Snapshot(ctx, syncName)
	if err != nil {
		return nil, fmt.Errorf("read snapshot: %w", err)
	}
	defer snap.Close()
	err = diff.Merge(it, snap, diff.MergeOptions{Removes: true}, func(e diff.Event) error {
		switch e.Kind {
		case diff.Add:
			res.Adds++
		case diff.Change:
			res.Changes++
		case diff.Remove:
			res.Removes++
		case diff.Unchanged:
			res.Unchanged++
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	res.MergeSecs = time.Since(mergeStart).Seconds()
	res.Seconds, res.GenSecs, res.Spills = time.Since(start).Seconds(), gen.Seconds(), spills
	want := expect(n)
	got := expected{adds: res.Adds, changes: res.Changes, removes: res.Removes}
	if got != want || res.Unchanged != int64(n)-want.adds-want.changes {
		return nil, fmt.Errorf("diff counted %+v, %d unchanged; want %+v, %d unchanged",
			got, res.Unchanged, want, int64(n)-want.adds-want.changes)
	}
	res.PeakKB, err = peakRSS()
	return res, err
}
