package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/hoist-dev/hoist/sync/diff"
)

// TestSorterOrder checks the sorter this benchmark measures against a plain
// sort, with entries of mixed sizes (some larger than the sorter's 1 MiB arena
// chunk) so entries land at chunk edges, in fresh chunks and in chunks reused
// after a spill.
func TestSorterOrder(t *testing.T) {
	for _, tc := range []struct {
		name    string
		limit   int
		entries int
		maxRow  int
	}{
		{"in memory", 64 << 20, 2000, 4 << 10},
		{"spills, small rows", 256 << 10, 5000, 512},
		{"spills, rows past a chunk", 3 << 20, 40, 3 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, uint64(tc.entries)))
			type ent struct{ key, row []byte }
			var want []ent
			s := diff.NewSorter(t.TempDir(), tc.limit)
			for i := range tc.entries {
				key := []byte(fmt.Sprintf("k%08d", r.IntN(1<<30)))
				row := bytes.Repeat([]byte{byte(i)}, r.IntN(tc.maxRow)+1)
				if err := s.Add(key, row, []byte{byte(i >> 8)}); err != nil {
					t.Fatal(err)
				}
				want = append(want, ent{key, row})
			}
			slices.SortStableFunc(want, func(a, b ent) int { return bytes.Compare(a.key, b.key) })
			it, err := s.Iter()
			if err != nil {
				t.Fatal(err)
			}
			defer it.Close()
			i := 0
			for ; it.Next(); i++ {
				if i >= len(want) || !bytes.Equal(it.Key(), want[i].key) || !bytes.Equal(it.Row(), want[i].row) {
					t.Fatalf("entry %d: key %q row %d bytes, want %q", i, it.Key(), len(it.Row()), want[min(i, len(want)-1)].key)
				}
			}
			if err := it.Err(); err != nil || i != len(want) {
				t.Fatalf("read %d entries of %d: %v", i, len(want), err)
			}
		})
	}
}
