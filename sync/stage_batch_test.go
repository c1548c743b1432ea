package sync

import (
	"slices"
	"testing"

	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/sync/spec"
)

// TestBatcherSizes: the sizes the diff's changes go out in, with and
// without a ramp, and the byte limit cutting a batch before its rows do.
func TestBatcherSizes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		lim     load.BatchLimits
		loaders int
		changes int
		rowSize int
		want    []int
	}{
		{"fixed", load.BatchLimits{Rows: 4}, 2, 10, 1, []int{4, 4, 2}},
		{"ramp doubles per round of loaders", load.BatchLimits{Rows: 8, Start: 1}, 2, 20, 1, []int{1, 1, 2, 2, 4, 4, 6}},
		{"ramp stops at rows", load.BatchLimits{Rows: 3, Start: 2}, 1, 10, 1, []int{2, 3, 3, 2}},
		{"start at or above rows is no ramp", load.BatchLimits{Rows: 3, Start: 5}, 1, 7, 1, []int{3, 3, 1}},
		{"a small change set spreads over the loaders", load.BatchLimits{Rows: 100_000, Start: 5_000}, 4, 30_000, 1,
			[]int{5000, 5000, 5000, 5000, 10_000}},
		{"bytes cut first", load.BatchLimits{Rows: 100, Bytes: 10, Start: 50}, 1, 25, 4, []int{3, 3, 3, 3, 3, 3, 3, 3, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []int
			b := newBatcher(tc.lim, tc.loaders, func(p *pending) error {
				got = append(got, p.rows)
				return nil
			})
			for range tc.changes {
				p, _ := b.place(load.OpUpsert, nil)
				p.bytes += tc.rowSize
				if err := b.fill(p); err != nil {
					t.Fatal(err)
				}
			}
			if err := b.flush(); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("batches %v, want %v", got, tc.want)
			}
		})
	}
}

// TestBatchSizeTurnsOffRamp: a sync's batch_size is every batch's size.
func TestBatchSizeTurnsOffRamp(t *testing.T) {
	if lim := batchLimits(&spec.Sync{BatchSize: 700}, nil); lim != (load.BatchLimits{Rows: 700}) {
		t.Fatalf("batch_size 700: limits %+v", lim)
	}
}
