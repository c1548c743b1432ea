package statetest

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/hoist-dev/hoist/sync/state"
)

// lookupEqualsScan checks, for a store that can look keys up, that every
// key a Lookup finds has the entry a Snapshot scan gives it, and that it
// finds no key the scan lacks. The snapshot is built by several commits,
// so a store that layers changes (the file store's delta tables) is read
// across its layers.
func (s *suite) lookupEqualsScan(t *testing.T) {
	st, ls := s.lookupStore(t)
	const sync = "looked-up"
	empty := lookup(t, ls, sync, [][]byte{[]byte("a")})
	if len(empty) != 0 {
		t.Errorf("lookup in a sync never committed found %s", entriesText(empty))
	}
	var base []state.Entry
	for i := range 200 { // many rows beside few changes: a layering store keeps the changes as layers
		base = append(base, state.Entry{Key: []byte(fmt.Sprintf("k%03d", i*2)), Row: []byte(fmt.Sprintf("row %d", i))})
	}
	commit(t, st, sync, &state.Commit{Delta: delta(base...), Run: runN(1)})
	commit(t, st, sync, &state.Commit{Delta: delta(entries("k000=changed#id-0", "k004", "k005=new#id-5")...), Run: runN(2)})
	commit(t, st, sync, &state.Commit{Delta: delta(entries("k005", "k010=changed again#id-10", "k200=last")...), Run: runN(3)})
	commit(t, st, sync, &state.Commit{Delta: delta(firstDelta()...), Run: runN(4)})
	scan := snapshot(t, st, sync)

	// every key of the scan and keys it lacks: before the first, between
	// neighbours, past the last, and removed ones
	var keys [][]byte
	for _, e := range scan {
		keys = append(keys, e.Key)
	}
	for _, k := range []string{"k001", "k004", "k005", "k0100", "k999", "k401", "zzz", "\x00\x01", "\xff\xff"} {
		keys = append(keys, []byte(k))
	}
	checkLookup(t, ls, sync, scan, keys)
}

// lookupLongEqualsScan is lookupEqualsScan with Gets of thousands of keys,
// as an incremental run makes them (4,096 keys a call): a store may split
// a long Get (the file store finds its halves at once) and must still hand
// over every entry once, in key order, across its layers.
func (s *suite) lookupLongEqualsScan(t *testing.T) {
	st, ls := s.lookupStore(t)
	const sync = "looked-up-long"
	var base, changes []state.Entry
	for i := range 9000 {
		base = append(base, state.Entry{Key: fmt.Appendf(nil, "L%05d", i*2), Row: fmt.Appendf(nil, "row %d", i), ID: fmt.Appendf(nil, "id-%d", i)})
	}
	for i := 0; i < 18000; i += 7 {
		e := state.Entry{Key: fmt.Appendf(nil, "L%05d", i)}
		switch {
		case i%2 == 1: // a key the base lacks
			e.Row = fmt.Appendf(nil, "added %d", i)
		case i%3 == 0: // removed
		default:
			e.Row, e.ID = fmt.Appendf(nil, "changed %d", i), fmt.Appendf(nil, "id-%d", i)
		}
		changes = append(changes, e)
	}
	commit(t, st, sync, &state.Commit{Delta: delta(base...), Run: runN(1)})
	commit(t, st, sync, &state.Commit{Delta: delta(changes...), Run: runN(2)})
	scan := snapshot(t, st, sync)
	var keys [][]byte
	for i := range 18002 { // every key of the scan, removed ones and misses
		keys = append(keys, fmt.Appendf(nil, "L%05d", i))
	}
	checkLookup(t, ls, sync, scan, keys)
}

// checkLookup finds keys (sorted here) in three calls of ascending keys, as
// an incremental run makes them, and compares what it finds with scan.
func checkLookup(t *testing.T, ls state.LookupStore, sync string, scan []state.Entry, keys [][]byte) {
	t.Helper()
	sortKeys(keys)
	third := len(keys) / 3
	var found []state.Entry
	l, err := openLookup(t, ls, sync)
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range [][][]byte{keys[:third], keys[third : 2*third], keys[2*third:]} {
		found = append(found, get(t, l, part)...)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("close lookup: %v", err)
	}
	scanned := map[string]state.Entry{}
	for _, e := range scan {
		scanned[string(e.Key)] = e
	}
	got := map[string][]byte{}
	for i, e := range found {
		if i > 0 && bytes.Compare(found[i-1].Key, e.Key) >= 0 {
			t.Errorf("lookup found %q after %q (want ascending keys)", e.Key, found[i-1].Key)
		}
		got[string(e.Key)] = e.Row
		se, ok := scanned[string(e.Key)]
		switch {
		case !ok:
			t.Errorf("lookup found %q = %q, which the scan lacks", e.Key, e.Row)
		case !bytes.Equal(se.Row, e.Row):
			t.Errorf("lookup found %q = %.40q, the scan gives %.40q", e.Key, e.Row, se.Row)
		case !bytes.Equal(se.ID, e.ID):
			t.Errorf("lookup found %q with record ID %q, the scan gives %q", e.Key, e.ID, se.ID)
		}
	}
	for _, e := range scan {
		if _, ok := got[string(e.Key)]; !ok {
			t.Errorf("lookup did not find %q, which the scan gives", e.Key)
		}
	}
}

// lookupStore opens the check's store, skipping the check for a store that
// cannot look keys up.
func (s *suite) lookupStore(t *testing.T) (state.Store, state.LookupStore) {
	t.Helper()
	st := s.store(t)
	ls, ok := st.(state.LookupStore)
	if !ok {
		t.Skip("the store does not implement state.LookupStore")
	}
	return st, ls
}

func sortKeys(keys [][]byte) {
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && bytes.Compare(keys[j-1], keys[j]) > 0; j-- {
			keys[j-1], keys[j] = keys[j], keys[j-1]
		}
	}
}

// openLookup opens a view with a context that lives as long as the test:
// a view may read with the context it was opened with.
func openLookup(t *testing.T, ls state.LookupStore, sync string) (state.Lookup, error) {
	t.Helper()
	ctx, cancel := ctxFor()
	t.Cleanup(cancel)
	return ls.Lookup(ctx, sync)
}

// get calls l.Get with keys and copies what it finds.
func get(t *testing.T, l state.Lookup, keys [][]byte) []state.Entry {
	t.Helper()
	ctx, cancel := ctxFor()
	defer cancel()
	var out []state.Entry
	err := l.Get(ctx, keys, func(e state.Entry) error {
		out = append(out, copyEntry(e))
		return nil
	})
	if err != nil {
		t.Fatalf("lookup: %v", err)
	}
	return out
}

// lookup opens a lookup, finds keys in one call and closes it.
func lookup(t *testing.T, ls state.LookupStore, sync string, keys [][]byte) []state.Entry {
	t.Helper()
	l, err := openLookup(t, ls, sync)
	if err != nil {
		t.Fatalf("open lookup: %v", err)
	}
	defer l.Close()
	return get(t, l, keys)
}
