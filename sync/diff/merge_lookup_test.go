package diff

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/hoist-dev/hoist/sync/state"
)

// sliceLookup is a Lookup over sorted entries in memory that also checks
// the contract MergeLookup must keep: ascending keys, above earlier calls.
type sliceLookup struct {
	entries []state.Entry
	last    []byte
	calls   int
}

func (l *sliceLookup) Get(_ context.Context, keys [][]byte, fn func(state.Entry) error) error {
	l.calls++
	for _, k := range keys {
		if l.last != nil && bytes.Compare(k, l.last) <= 0 {
			return fmt.Errorf("key %q asked after %q", k, l.last)
		}
		l.last = append(l.last[:0], k...)
		i := sort.Search(len(l.entries), func(i int) bool { return bytes.Compare(l.entries[i].Key, k) >= 0 })
		if i < len(l.entries) && bytes.Equal(l.entries[i].Key, k) {
			if err := fn(l.entries[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

func (l *sliceLookup) Close() error { return nil }

type diffRow struct{ key, row, aux string }

func sortedIter(t *testing.T, rows []diffRow) *SortedIter {
	t.Helper()
	s := NewSorter(t.TempDir(), 1<<16) // small: spills to runs on disk
	for _, r := range rows {
		if err := s.Add([]byte(r.key), []byte(r.row), []byte(r.aux)); err != nil {
			t.Fatal(err)
		}
	}
	it, err := s.Iter()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { it.Close() })
	return it
}

func eventString(e Event) string {
	return fmt.Sprintf("%s %s old=%q new=%q aux=%q", e.Kind, e.Key, e.Old, e.New, e.Aux)
}

// TestMergeLookupMatchesMerge: over random extracts (duplicates, empty
// rows, more keys than a chunk) and snapshots, MergeLookup yields exactly
// the events of Merge without removals.
func TestMergeLookupMatchesMerge(t *testing.T) {
	t.Parallel()
	for seed := range uint64(6) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(seed, 11))
			n := []int{0, 1, 50, lookupChunkKeys, lookupChunkKeys + 1, 3*lookupChunkKeys + 77}[seed]
			var snap []state.Entry
			for i := range 2 * n {
				if rng.IntN(2) == 0 {
					snap = append(snap, state.Entry{Key: fmt.Appendf(nil, "k%06d", i), Row: fmt.Appendf(nil, "v%d", rng.IntN(3))})
				}
			}
			var rows []diffRow
			for range n {
				k := fmt.Sprintf("k%06d", rng.IntN(2*n+1))
				row := fmt.Sprintf("v%d", rng.IntN(3))
				if rng.IntN(10) == 0 {
					row = ""
				}
				rows = append(rows, diffRow{k, row, fmt.Sprint(rng.IntN(100))})
			}
			opt := MergeOptions{LastWins: true}
			var want, got []string
			if err := Merge(sortedIter(t, rows), &state.SliceIterator{Entries: snap}, opt, func(e Event) error {
				want = append(want, eventString(e))
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			look := &sliceLookup{entries: snap}
			if err := MergeLookup(context.Background(), sortedIter(t, rows), look, opt, func(e Event) error {
				got = append(got, eventString(e))
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				for i := range min(len(got), len(want)) {
					if got[i] != want[i] {
						t.Fatalf("event %d: got %s, want %s", i, got[i], want[i])
					}
				}
				t.Fatalf("got %d events, want %d", len(got), len(want))
			}
			if wantCalls := (len(want) + lookupChunkKeys - 1) / lookupChunkKeys; look.calls != wantCalls {
				t.Fatalf("%d lookups for %d keys, want %d", look.calls, len(want), wantCalls)
			}
		})
	}
}

func TestMergeLookupErrors(t *testing.T) {
	t.Parallel()
	rows := []diffRow{{"a", "1", ""}, {"a", "2", ""}}
	var dup *DuplicateKeyError
	err := MergeLookup(context.Background(), sortedIter(t, rows), &sliceLookup{}, MergeOptions{}, func(Event) error { return nil })
	if !errors.As(err, &dup) {
		t.Fatalf("duplicate key: err = %v", err)
	}
	boom := errors.New("boom")
	err = MergeLookup(context.Background(), sortedIter(t, []diffRow{{"b", "1", ""}}), &sliceLookup{}, MergeOptions{}, func(Event) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("callback error: %v", err)
	}
	// a lookup that answers a key it was not asked for is a bug, caught
	bad := &sliceLookup{entries: []state.Entry{{Key: []byte("zz"), Row: []byte("x")}}}
	err = MergeLookup(context.Background(), sortedIter(t, []diffRow{{"b", "1", ""}}), lookupFunc(func(keys [][]byte, fn func(state.Entry) error) error {
		return fn(bad.entries[0])
	}), MergeOptions{}, func(Event) error { return nil })
	if err == nil {
		t.Fatal("a stray key from the lookup went unnoticed")
	}
}

type lookupFunc func(keys [][]byte, fn func(state.Entry) error) error

func (f lookupFunc) Get(_ context.Context, keys [][]byte, fn func(state.Entry) error) error {
	return f(keys, fn)
}
func (f lookupFunc) Close() error { return nil }
