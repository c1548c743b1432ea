package state

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestFileStoreReadsStateWithoutIDs: a sync whose tables an earlier hoist
// wrote (format 3: no record IDs) still loads, its rows without IDs; a
// commit that brings IDs lays a format 4 delta over the format 3 base
// (which stays as it is, not rewritten), and lookups, scans and the merge
// into a new base all agree on every key's row and ID.
func TestFileStoreReadsStateWithoutIDs(t *testing.T) {
	root := t.TempDir()
	s := openTestStore(t, root)
	s.maxDeltas, s.deltaShare = 100, 1 // keep the base: layers read together
	ctx := context.Background()

	writeVersion = tableVersion3
	var base []Entry
	for i := range 50 {
		base = append(base, Entry{Key: []byte(fmt.Sprintf("k%02d", i)), Row: []byte(fmt.Sprintf("row %d", i)), ID: []byte("dropped by format 3")})
	}
	commitDelta(t, s, "s", base...)
	writeVersion = tableVersion
	t.Cleanup(func() { writeVersion = tableVersion })

	dir := filepath.Join(root, "s")
	tables, _ := filepath.Glob(filepath.Join(dir, snapshotPrefix+"*"))
	if len(tables) != 1 {
		t.Fatalf("snapshot tables %v, want one", tables)
	}
	baseName := tables[0]
	want := map[string][2]string{}
	for _, e := range base {
		want[string(e.Key)] = [2]string{string(e.Row), ""}
	}
	check := func(when string) {
		t.Helper()
		got := map[string][2]string{}
		it, err := s.Snapshot(ctx, "s")
		if err != nil {
			t.Fatal(err)
		}
		for it.Next() {
			e := it.Entry()
			got[string(e.Key)] = [2]string{string(e.Row), string(e.ID)}
			if e.ID != nil && len(e.ID) == 0 {
				t.Errorf("%s: key %s has an empty, non-nil ID", when, e.Key)
			}
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
		it.Close()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: scan\n got %v\nwant %v", when, got, want)
		}
		l, err := s.Lookup(ctx, "s")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		keys := [][]byte{}
		for i := range 80 {
			keys = append(keys, []byte(fmt.Sprintf("k%02d", i)))
		}
		found := 0
		err = l.Get(ctx, keys, func(e Entry) error {
			found++
			if w := want[string(e.Key)]; w != [2]string{string(e.Row), string(e.ID)} {
				t.Errorf("%s: lookup of %s = %q#%q, want %q#%q", when, e.Key, e.Row, e.ID, w[0], w[1])
			}
			return nil
		})
		if err != nil || found != len(want) {
			t.Errorf("%s: lookup found %d of %d keys: %v", when, found, len(want), err)
		}
	}
	check("a format 3 base")

	commitDelta(t, s, "s", Entry{Key: []byte("k01"), Row: []byte("row 1"), ID: []byte("rid-1")},
		Entry{Key: []byte("k02")}, Entry{Key: []byte("k70"), Row: []byte("new"), ID: []byte("rid-70")})
	want["k01"] = [2]string{"row 1", "rid-1"}
	delete(want, "k02")
	want["k70"] = [2]string{"new", "rid-70"}
	check("a format 4 delta over the format 3 base")
	if _, err := os.Stat(baseName); err != nil {
		t.Errorf("the format 3 base was rewritten: %v", err)
	}
	hdr := make([]byte, tableHeaderLen)
	f, _ := os.Open(baseName)
	f.ReadAt(hdr, 0)
	f.Close()
	if hdr[len(snapMagic)] != tableVersion3 {
		t.Errorf("base table version %d, want 3", hdr[len(snapMagic)])
	}

	// merged into a new base, in format 4
	s.deltaShare = 1 << 40
	commitDelta(t, s, "s", Entry{Key: []byte("k03"), Row: []byte("row 3"), ID: []byte("rid-3")})
	want["k03"] = [2]string{"row 3", "rid-3"}
	check("a new base")
	tables, _ = filepath.Glob(filepath.Join(dir, snapshotPrefix+"*"))
	if len(tables) != 1 || tables[0] == baseName {
		t.Fatalf("snapshot tables %v after compaction, want one new base", tables)
	}
	raw, _ := os.ReadFile(tables[0])
	if raw[len(snapMagic)] != tableVersion {
		t.Errorf("new base: version %d", raw[len(snapMagic)])
	}
}
