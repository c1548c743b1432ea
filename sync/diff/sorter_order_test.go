package diff

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSorterOrderMatchesBytes: keys sharing long prefixes, shorter than the
// 8-byte sort prefix, ending in zero bytes or equal, come out in byte order,
// equal keys in the order added, spilled or not; after KeepRuns a second
// iteration gives the same entries.
func TestSorterOrderMatchesBytes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte{0, 1, 'a', 'b', 0xff}
	for _, limit := range []int{1 << 20, 512} { // in memory, and many runs
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			s := NewSorter(t.TempDir(), limit)
			s.KeepRuns()
			type entry struct {
				key []byte
				n   int
			}
			var want []entry
			for i := 0; i < 3000; i++ {
				k := []byte("prefix12")[:rng.IntN(9)] // 0..8 shared bytes
				for j := rng.IntN(4); j > 0; j-- {
					k = append(k, alphabet[rng.IntN(len(alphabet))])
				}
				want = append(want, entry{slices.Clone(k), i})
				if err := s.Add(k, []byte(fmt.Sprint(i)), nil); err != nil {
					t.Fatal(err)
				}
			}
			slices.SortStableFunc(want, func(a, b entry) int { return bytes.Compare(a.key, b.key) })
			for pass := 0; pass < 2; pass++ {
				it, err := s.Iter()
				if err != nil {
					t.Fatal(err)
				}
				i := 0
				for it.Next() {
					if !bytes.Equal(it.Key(), want[i].key) || string(it.Row()) != fmt.Sprint(want[i].n) {
						t.Fatalf("pass %d, entry %d: %q row %s, want %q row %d", pass, i, it.Key(), it.Row(), want[i].key, want[i].n)
					}
					i++
				}
				if err := it.Err(); err != nil || i != len(want) {
					t.Fatalf("pass %d: %d entries, err %v", pass, i, err)
				}
				it.Close()
			}
			s.Remove()
		})
	}
}
