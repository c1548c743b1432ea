package state

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestFileDeltasMatchModel commits random deltas (adds, changes, removals,
// removals of absent keys) under several compaction policies and checks,
// after every commit, the full read, lookups of random keys, the row count
// and the files on disk against an in-memory model.
func TestFileDeltasMatchModel(t *testing.T) {
	t.Parallel()
	policies := []struct {
		name       string
		maxDeltas  int
		deltaShare int64
	}{
		{"default", defaultMaxDeltas, defaultDeltaShare},
		{"three deltas then compact", 3, 1 << 40},
		{"deltas only", 1 << 20, 1 << 40},
	}
	for _, p := range policies {
		for seed := range uint64(3) {
			t.Run(fmt.Sprintf("%s/seed%d", p.name, seed), func(t *testing.T) {
				t.Parallel()
				rng := rand.New(rand.NewPCG(seed, 7))
				s := openTestStore(t, t.TempDir())
				s.maxDeltas, s.deltaShare, s.blockSize = p.maxDeltas, p.deltaShare, 64
				ctx := context.Background()
				model := map[string]string{}
				for round := range 20 {
					keys := map[string]bool{}
					for range rng.IntN(200) + 1 {
						keys[fmt.Sprintf("k%04d", rng.IntN(600))] = true
					}
					var delta []Entry
					for _, k := range slices.Sorted(maps.Keys(keys)) {
						if rng.IntN(3) == 0 {
							delta = append(delta, Entry{Key: []byte(k)})
							delete(model, k)
						} else {
							v := fmt.Sprintf("r%d-%d", round, rng.IntN(1000))
							if rng.IntN(20) == 0 {
								v = "" // an empty row is a row, not a removal
							}
							delta = append(delta, Entry{Key: []byte(k), Row: []byte(v)})
							model[k] = v
						}
					}
					commitDelta(t, s, "s", delta...)
					checkAgainstModel(t, s, model, rng, round)
				}
				st, _ := s.Get(ctx, "s")
				if st.SnapshotRows != int64(len(model)) {
					t.Fatalf("SnapshotRows %d, model %d", st.SnapshotRows, len(model))
				}
			})
		}
	}
}

func checkAgainstModel(t *testing.T, s *fileStore, model map[string]string, rng *rand.Rand, round int) {
	t.Helper()
	ctx := context.Background()
	got := snapshotOf(t, s, "s")
	var want []Entry
	for _, k := range slices.Sorted(maps.Keys(model)) {
		want = append(want, Entry{Key: []byte(k), Row: []byte(model[k])})
	}
	if !equalEntries(got, want) {
		t.Fatalf("round %d: snapshot has %d entries, model %d:\n got %s\nwant %s", round, len(got), len(want), entriesString(got), entriesString(want))
	}
	st, err := s.Get(ctx, "s")
	if err != nil || st.SnapshotRows != int64(len(model)) {
		t.Fatalf("round %d: SnapshotRows %d (err %v), model %d", round, st.SnapshotRows, err, len(model))
	}

	// lookups: ascending random probes in three Get calls
	l, err := s.Lookup(ctx, "s")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var probes [][]byte
	for i := 0; i < 600; i += 1 + rng.IntN(12) {
		probes = append(probes, []byte(fmt.Sprintf("k%04d", i)))
	}
	var found []Entry
	var expect []Entry
	for _, p := range probes {
		if v, ok := model[string(p)]; ok {
			expect = append(expect, Entry{Key: p, Row: []byte(v)})
		}
	}
	third := len(probes) / 3
	for _, part := range [][][]byte{probes[:third], probes[third : 2*third], probes[2*third:]} {
		err := l.Get(ctx, part, func(e Entry) error {
			found = append(found, Entry{Key: slices.Clone(e.Key), Row: append([]byte{}, e.Row...)})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if !equalEntries(found, expect) {
		t.Fatalf("round %d: lookup found %s, want %s", round, entriesString(found), entriesString(expect))
	}

	// on disk: exactly the tables state.json names, and no temp files
	dir, _ := s.syncDir("s")
	fs, _ := readState(dir, "s")
	var tables []string
	for _, f := range snapshotFiles(t, dir) {
		if strings.HasSuffix(f, snapshotSuffix) || strings.HasPrefix(f, tempPrefix) {
			tables = append(tables, f)
		}
	}
	slices.Sort(tables)
	names := slices.Sorted(slices.Values(fs.tableNames()))
	if !slices.Equal(tables, names) {
		t.Fatalf("round %d: files %v, state names %v", round, tables, names)
	}
	if len(fs.Deltas) > s.maxDeltas {
		t.Fatalf("round %d: %d deltas, max %d", round, len(fs.Deltas), s.maxDeltas)
	}
}

// A small change to a large snapshot appends a delta table and leaves the
// base file alone; past maxDeltas the deltas merge into one, and once they
// hold a quarter of the rows, everything merges into a new base.
func TestFileSmallChangeAppendsDelta(t *testing.T) {
	t.Parallel()
	s := openTestStore(t, t.TempDir())
	ctx := context.Background()
	if err := s.Commit(ctx, "s", &Commit{Delta: custIter(10_000, 0)}); err != nil {
		t.Fatal(err)
	}
	dir, _ := s.syncDir("s")
	base, err := os.Stat(filepath.Join(dir, "snapshot-1.bin"))
	if err != nil {
		t.Fatal(err)
	}
	rows := int64(10_000)
	for i := range defaultMaxDeltas + 1 {
		commitDelta(t, s, "s", Entry{Key: custKey(nil, i*100), Row: []byte("changed")}, Entry{Key: custKey(nil, 20_000+i), Row: []byte("new")})
		rows++
		st, _ := readState(dir, "s")
		wantDeltas := i + 1
		if i == defaultMaxDeltas {
			wantDeltas = 1 // merged
			if st.Deltas[0].Entries != 2*(defaultMaxDeltas+1) {
				t.Fatalf("merged delta: %+v", st.Deltas)
			}
		}
		if st.Snapshot != "snapshot-1.bin" || len(st.Deltas) != wantDeltas || st.SnapshotRows != rows {
			t.Fatalf("commit %d: state %+v", i, st)
		}
	}
	if now, err := os.Stat(filepath.Join(dir, "snapshot-1.bin")); err != nil || !os.SameFile(base, now) || now.ModTime() != base.ModTime() {
		t.Fatalf("base file was touched: %v", err)
	}
	// a quarter of the rows changed: a new base
	var big []Entry
	for i := 0; i < 10_000; i += 3 {
		big = append(big, Entry{Key: custKey(nil, i), Row: nil})
		rows--
	}
	commitDelta(t, s, "s", big...)
	st, _ := readState(dir, "s")
	if len(st.Deltas) != 0 || st.Snapshot != fmt.Sprintf("snapshot-%d.bin", defaultMaxDeltas+3) || st.SnapshotRows != rows {
		t.Fatalf("after compaction: %+v (want %d rows)", st, rows)
	}
	got := snapshotOf(t, s, "s")
	if last := got[len(got)-1]; int64(len(got)) != rows || string(last.Row) != "new" {
		t.Fatalf("compacted snapshot: %d entries, last %s", len(got), last.Row)
	}
}

// TestFileReadsFormat1 opens a state folder written by an earlier hoist
// (state.json format 1, snapshot stream format 1): reads and lookups work,
// and the next commit rewrites it in the current format.
func TestFileReadsFormat1(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	s := openTestStore(t, root)
	dir, _ := s.syncDir("s")
	os.MkdirAll(dir, 0o755)
	old := kvEntries("a=1", "b=2", "d=4")
	writeSnapFile(t, filepath.Join(dir, "snapshot-3.bin"), codecS2, old)
	os.WriteFile(filepath.Join(dir, "state.json"), []byte(`{"format": 1, "sync": "s", "generation": 3,
		"snapshot": "snapshot-3.bin", "snapshot_rows": 3, "cursor": {"kind": "int", "value": "9"}}`), 0o644)

	if got := snapshotOf(t, s, "s"); !equalEntries(got, old) {
		t.Fatalf("format 1 snapshot = %s", entriesString(got))
	}
	ctx := context.Background()
	l, err := s.Lookup(ctx, "s")
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	l.Get(ctx, [][]byte{[]byte("b"), []byte("c"), []byte("d")}, func(e Entry) error {
		found = append(found, string(e.Key)+"="+string(e.Row))
		return nil
	})
	l.Close()
	if !slices.Equal(found, []string{"b=2", "d=4"}) {
		t.Fatalf("format 1 lookup = %v", found)
	}
	commitDelta(t, s, "s", kvEntries("c=3")...)
	st, _ := readState(dir, "s")
	if st.Format != stateFormat || st.Snapshot != "snapshot-4.bin" || len(st.Deltas) != 0 || st.Cursor.Value != "9" {
		t.Fatalf("state after the first commit: %+v", st)
	}
	tf, err := openTable(filepath.Join(dir, "snapshot-4.bin"))
	if err != nil || tf.version != tableVersion {
		t.Fatalf("rewritten snapshot: %v", err)
	}
	tf.close()
	if got := snapshotOf(t, s, "s"); !equalEntries(got, kvEntries("a=1", "b=2", "c=3", "d=4")) {
		t.Fatalf("snapshot = %s", entriesString(got))
	}
}

// A hoist that reads format 1 only must refuse what this one writes, not
// read the base without its deltas.
func TestFileStateFromTheFutureRefused(t *testing.T) {
	t.Parallel()
	s := openTestStore(t, t.TempDir())
	dir, _ := s.syncDir("s")
	os.MkdirAll(dir, 0o755)
	future := stateFormat + 1
	os.WriteFile(filepath.Join(dir, "state.json"), []byte(fmt.Sprintf(`{"format": %d, "sync": "s"}`, future)), 0o644)
	_, err := s.Snapshot(context.Background(), "s")
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("format %d", future)) {
		t.Fatalf("err = %v", err)
	}
}
