package state

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// sealedStore commits, for sync "s" in root, a base of 200 rows and two
// delta tables that differ only in one row's value: swapped, their sizes,
// first keys and block offsets agree, so only the block CRCs tell them
// apart. Sync "other" gets a base of the same shape with other values.
func sealedStore(t *testing.T, root string, codec byte) *fileStore {
	t.Helper()
	s := openTestStore(t, root)
	s.codec = codec
	ctx := context.Background()
	for sync, version := range map[string]int{"s": 0, "other": 1} {
		if err := s.Commit(ctx, sync, &Commit{Delta: custIter(200, version), Run: Run{Status: "ok"}}); err != nil {
			t.Fatal(err)
		}
	}
	commitDelta(t, s, "s", Entry{Key: custKey(nil, 7), Row: []byte("value-1")})
	commitDelta(t, s, "s", Entry{Key: custKey(nil, 7), Row: []byte("value-2")})
	dir, _ := s.syncDir("s")
	st, err := readState(dir, "s")
	if err != nil || len(st.Deltas) != 2 {
		t.Fatalf("setup: %+v %v", st, err)
	}
	return s
}

// editState rewrites state.json through fn as a JSON object, keeping it
// valid JSON (and its now stale checksum).
func editState(t *testing.T, dir string, fn func(m map[string]any)) {
	t.Helper()
	path := filepath.Join(dir, stateFileName)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	fn(m)
	if b, err = json.MarshalIndent(m, "", "  "); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, filePerm); err != nil {
		t.Fatal(err)
	}
}

// rewriteBlock changes a byte of the first block's data of an uncompressed
// table and fixes up the block's own CRC, as a block swapped in from
// another table would look: only the index's copy of the CRC disagrees.
func rewriteBlock(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n, hl := binary.Uvarint(b[tableHeaderLen:])
	data := b[tableHeaderLen+hl+4 : tableHeaderLen+hl+4+int(n)]
	data[len(data)-2] ^= 1 // inside the last row: still parses
	binary.LittleEndian.PutUint32(b[tableHeaderLen+hl:], crc32.Checksum(data, crcTable))
	if err := os.WriteFile(path, b, filePerm); err != nil {
		t.Fatal(err)
	}
}

// TestFileSealDetectsTampering (issue 10, item 6): every edit of a state
// folder that leaves state.json valid JSON is an error naming the file
// (state.json, or the table that does not match it) and saying what to do,
// for Get (state.json edits), a full read, a lookup and a commit.
func TestFileSealDetectsTampering(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		codec  byte
		tamper func(t *testing.T, root, dir string)
		file   string // the file the error must name
	}{
		{"deltas emptied", codecS2, func(t *testing.T, _, dir string) {
			editState(t, dir, func(m map[string]any) { delete(m, "deltas") })
		}, stateFileName},
		{"last delta dropped", codecS2, func(t *testing.T, _, dir string) {
			editState(t, dir, func(m map[string]any) { m["deltas"] = m["deltas"].([]any)[:1] })
		}, stateFileName},
		{"snapshot_rows changed", codecS2, func(t *testing.T, _, dir string) {
			editState(t, dir, func(m map[string]any) { m["snapshot_rows"] = 5 })
		}, stateFileName},
		{"cursor changed", codecS2, func(t *testing.T, _, dir string) {
			editState(t, dir, func(m map[string]any) { m["cursor"] = map[string]any{"kind": "int", "value": "1"} })
		}, stateFileName},
		{"checksum removed", codecS2, func(t *testing.T, _, dir string) {
			editState(t, dir, func(m map[string]any) { delete(m, "checksum") })
		}, stateFileName},
		{"checksum removed, format lowered", codecS2, func(t *testing.T, _, dir string) {
			editState(t, dir, func(m map[string]any) { delete(m, "checksum"); m["format"] = 2 })
		}, stateFileName},
		{"delta files swapped", codecS2, func(t *testing.T, _, dir string) {
			a, b, tmp := filepath.Join(dir, "delta-2.bin"), filepath.Join(dir, "delta-3.bin"), filepath.Join(dir, "swap")
			if err := errors.Join(os.Rename(a, tmp), os.Rename(b, a), os.Rename(tmp, b)); err != nil {
				t.Fatal(err)
			}
		}, "delta-2.bin"},
		{"another sync's snapshot over the base", codecS2, func(t *testing.T, root, dir string) {
			b, err := os.ReadFile(filepath.Join(root, "other", "snapshot-1.bin"))
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(dir, "snapshot-1.bin"), b, filePerm)
		}, "snapshot-1.bin"},
		{"delta truncated", codecS2, func(t *testing.T, _, dir string) {
			p := filepath.Join(dir, "delta-3.bin")
			fi, _ := os.Stat(p)
			os.Truncate(p, fi.Size()-1)
		}, "delta-3.bin"},
		{"block rewritten with a valid CRC", codecNone, func(t *testing.T, _, dir string) {
			rewriteBlock(t, filepath.Join(dir, "snapshot-1.bin"))
		}, "snapshot-1.bin"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			s := sealedStore(t, root, tc.codec)
			dir, _ := s.syncDir("s")
			if snapshotOf(t, s, "s"); t.Failed() {
				return
			}
			tc.tamper(t, root, dir)
			ctx := context.Background()
			want := filepath.Join(dir, tc.file)
			calls := map[string]func() error{
				"Snapshot": func() error {
					it, err := s.Snapshot(ctx, "s")
					if err != nil {
						return err
					}
					defer it.Close()
					for it.Next() {
					}
					return it.Err()
				},
				"Lookup": func() error {
					l, err := s.Lookup(ctx, "s")
					if err != nil {
						return err
					}
					defer l.Close()
					var keys [][]byte
					for i := range 200 {
						keys = append(keys, custKey(nil, i))
					}
					return l.Get(ctx, keys, func(Entry) error { return nil })
				},
			}
			if !strings.HasPrefix(tc.name, "block") {
				// a commit reads only the blocks it needs; the rewritten
				// one is not among them
				calls["Commit"] = func() error {
					return s.Commit(ctx, "s", &Commit{Delta: &SliceIterator{Entries: kvEntries("zz=1")}})
				}
			}
			if tc.file == stateFileName {
				calls["Get"] = func() error { _, err := s.Get(ctx, "s"); return err }
			}
			for _, name := range slices.Sorted(maps.Keys(calls)) {
				err := calls[name]()
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("%s: err = %v, want one naming %s", name, err, want)
				}
			}
			// the way out the error names
			if err := s.Reset(ctx, "s"); err != nil {
				t.Fatalf("reset: %v", err)
			}
			commitDelta(t, s, "s", kvEntries("a=1")...)
			if got := snapshotOf(t, s, "s"); !equalEntries(got, kvEntries("a=1")) {
				t.Fatalf("after reset: %s", entriesString(got))
			}
		})
	}
}

// TestFileBlockRewriteDetectedByScanAndSeek checks the two halves of the
// transitive binding on their own: a full read rebuilds the index's CRCs
// from the blocks and checks them against the seal; a seek checks the block
// against the index.
func TestFileBlockRewriteDetectedByScanAndSeek(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	s := sealedStore(t, root, codecNone)
	dir, _ := s.syncDir("s")
	st, err := readState(dir, "s")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, st.Snapshot)
	rewriteBlock(t, path)
	tf, err := openTable(path)
	if err != nil {
		t.Fatal(err)
	}
	defer tf.close()
	tf.want = st.SnapshotSeal.Checksum // as if checkSeal passed: a block swapped in under a reader
	it, _ := tf.scan(context.Background())
	for it.next() {
	}
	if err := it.err(); err == nil || !strings.Contains(err.Error(), "do not match its checksum") {
		t.Errorf("scan: %v", err)
	}
	it.close()
	sk, _ := tf.seeker(context.Background())
	sk.seekGE(custKey(nil, 0))
	if err := sk.err(); err == nil || !strings.Contains(err.Error(), "does not match the index") {
		t.Errorf("seek: %v", err)
	}
	sk.close()
}

// A state folder written before checksums (state.json format 2, no seals)
// still reads, and its next commit, even one that writes no table, seals it.
func TestFileLegacyStateGetsSealed(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	s := sealedStore(t, root, codecS2)
	dir, _ := s.syncDir("s")
	want := snapshotOf(t, s, "s")
	editState(t, dir, func(m map[string]any) {
		delete(m, "checksum")
		delete(m, "snapshot_seal")
		m["format"] = 2
		for _, d := range m["deltas"].([]any) {
			delete(d.(map[string]any), "size")
			delete(d.(map[string]any), "checksum")
		}
	})
	st, err := readState(dir, "s")
	if err != nil || st.Checksum != "" || st.SnapshotSeal != nil || st.Deltas[0].sealed() {
		t.Fatalf("legacy state: %+v %v", st, err)
	}
	if got := snapshotOf(t, s, "s"); !equalEntries(got, want) {
		t.Fatalf("legacy snapshot: %s", entriesString(got))
	}
	if err := s.Commit(context.Background(), "s", &Commit{Run: Run{Status: "ok"}}); err != nil {
		t.Fatal(err)
	}
	st, err = readState(dir, "s")
	if err != nil || st.Format != stateFormat || st.Checksum == "" || st.SnapshotSeal == nil || !st.Deltas[0].sealed() || !st.Deltas[1].sealed() {
		t.Fatalf("after a commit: %+v %v", st, err)
	}
	if got := snapshotOf(t, s, "s"); !equalEntries(got, want) {
		t.Fatalf("sealed snapshot: %s", entriesString(got))
	}
	// and the seals it wrote bind: swapped deltas are now caught
	a, b := filepath.Join(dir, "delta-2.bin"), filepath.Join(dir, "delta-3.bin")
	ab, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	os.WriteFile(a, bb, filePerm)
	os.WriteFile(b, ab, filePerm)
	if _, err := s.Snapshot(context.Background(), "s"); err == nil || !strings.Contains(err.Error(), a) {
		t.Fatalf("swapped after sealing: %v", err)
	}
}

// A state.json checksum survives any content: the value of a cursor that
// looks like a checksum does not confuse where the checksum field is.
func TestStateChecksumRoundTrip(t *testing.T) {
	t.Parallel()
	st := &fileState{Format: stateFormat, Sync: "s", Snapshot: "snapshot-1.bin", SnapshotSeal: &tableSeal{Size: 9, Checksum: tableSum(1)},
		History: []Run{{Status: stateSumZero}}}
	b, err := marshalState(st)
	if err != nil {
		t.Fatal(err)
	}
	var back fileState
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if err := checkState(b, &back); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if !strings.HasPrefix(string(b), "{\n  \"checksum\": \"sha256:") {
		t.Fatalf("checksum is not the first field:\n%s", b)
	}
	for i := range b {
		if b[i] == ' ' || b[i] == '\n' {
			continue
		}
		bad := slices.Clone(b)
		bad[i] ^= 0x01
		var m fileState
		if json.Unmarshal(bad, &m) != nil {
			continue
		}
		if checkState(bad, &m) == nil {
			t.Fatalf("byte %d (%q) flipped: checksum still passes", i, b[i])
		}
	}
}
