package main

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestPhases runs build then diff on small tables, with a sort budget small
// enough to spill, and relies on diffPhase's own check that the counts match
// the edits rowGen made (it fails the phase otherwise).
func TestPhases(t *testing.T) {
	old := sortMemory
	sortMemory = 64 << 10
	t.Cleanup(func() { sortMemory = old })
	for _, tc := range []struct {
		name   string
		rows   int
		spills bool
	}{
		{"one row", 1, false},
		{"in memory (under the sort budget)", 100, false},
		{"several batches, spilled", 3*batchRows + 17, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			b, err := buildPhase(ctx, dir, tc.rows)
			if err != nil {
				t.Fatal(err)
			}
			if b.SnapRows != int64(tc.rows) {
				t.Fatalf("snapshot rows %d, want %d", b.SnapRows, tc.rows)
			}
			d, err := diffPhase(ctx, dir, tc.rows)
			if err != nil {
				t.Fatal(err)
			}
			if want := expect(tc.rows); d.Changes != want.changes || d.Adds != want.adds {
				t.Fatalf("diff %+v, want %+v", d, want)
			}
			if (d.Spills > 0) != tc.spills {
				t.Fatalf("spills %d, want spilling %v", d.Spills, tc.spills)
			}
			if d.PeakKB <= 0 {
				t.Fatalf("peak RSS %d KB", d.PeakKB)
			}
		})
	}
}

// TestRowGenShuffleVisitsEveryRow: the scrambled order must still produce
// each row exactly once, or the diff would count phantom adds and removes.
func TestRowGenShuffleVisitsEveryRow(t *testing.T) {
	for _, n := range []int{1, 7, batchRows + 3, 1_000_003 * 2} {
		if n > 100_000 {
			// a multiple of the stride: coprime must move off it
			if s := coprime(n, shuffleStride); s == shuffleStride {
				t.Fatalf("coprime(%d) kept stride %d", n, s)
			}
			continue
		}
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		g := newRowGen(mem, n, true)
		seen := make(map[int64]bool, n)
		for rec := g.Next(); rec != nil; rec = g.Next() {
			ids := rec.Column(0).(*array.Int64)
			for i := 0; i < ids.Len(); i++ {
				if seen[ids.Value(i)] {
					t.Fatalf("n=%d: id %d twice", n, ids.Value(i))
				}
				seen[ids.Value(i)] = true
			}
			rec.Release()
		}
		g.Release()
		mem.AssertSize(t, 0)
		if len(seen) != n {
			t.Fatalf("n=%d: %d distinct ids", n, len(seen))
		}
	}
}
