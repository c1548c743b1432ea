package state

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeSnapFile(t *testing.T, path string, codec byte, es []Entry) {
	t.Helper()
	var buf bytes.Buffer
	w, err := newSnapWriter(&buf, codec)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		w.add(e.Key, e.Row)
	}
	if err := w.finish(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSnapFileDetectsDamage: a damaged snapshot must fail loudly, never
// yield a silently shorter snapshot (which mirror mode would turn into
// deletes at the destination).
func TestSnapFileDetectsDamage(t *testing.T) {
	t.Parallel()
	var es []Entry
	for i := range 5000 {
		es = append(es, Entry{Key: custKey(nil, i), Row: custRow(nil, i, 1)})
	}
	damage := []struct {
		name string
		edit func([]byte) []byte
		want string
	}{
		{"intact", func(b []byte) []byte { return b }, ""},
		{"truncated in the middle", func(b []byte) []byte { return b[:len(b)/2] }, "snapshot"},
		{"last byte cut", func(b []byte) []byte { return b[:len(b)-1] }, "snapshot"},
		{"byte flipped", func(b []byte) []byte { b[len(b)/2] ^= 0x40; return b }, "snapshot"},
		{"trailing garbage", func(b []byte) []byte { return append(b, 1, 2, 3) }, "snapshot"},
		{"bad magic", func(b []byte) []byte { b[0] = 'X'; return b }, "not a hoist snapshot file"},
		{"future version", func(b []byte) []byte { b[len(snapMagic)] = 9; return b }, "format version 9 is not supported"},
	}
	for _, codec := range []byte{codecZstd, codecS2} {
		for _, d := range damage {
			t.Run(fmt.Sprintf("codec%d/%s", codec, d.name), func(t *testing.T) {
				t.Parallel()
				path := filepath.Join(t.TempDir(), "snap.bin")
				writeSnapFile(t, path, codec, es)
				b, _ := os.ReadFile(path)
				os.WriteFile(path, d.edit(b), 0o644)
				n, err := readAllSnap(path)
				if d.want == "" {
					if err != nil || n != len(es) {
						t.Fatalf("intact file: %d entries, err %v", n, err)
					}
					return
				}
				if err == nil || !strings.Contains(err.Error(), d.want) {
					t.Fatalf("damaged file read %d entries with err %v, want an error containing %q", n, err, d.want)
				}
			})
		}
	}
}

// The end marker and count catch truncation even without a codec checksum.
func TestSnapFileUncompressedTruncation(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "snap.bin")
	writeSnapFile(t, path, codecNone, kvEntries("a=1", "b=2", "c=3"))
	b, _ := os.ReadFile(path)
	for cut := len(snapMagic) + 2; cut < len(b); cut++ {
		os.WriteFile(path, b[:cut], 0o644)
		if n, err := readAllSnap(path); err == nil {
			t.Fatalf("file cut to %d of %d bytes read cleanly (%d entries)", cut, len(b), n)
		}
	}
}

// readAllSnap reads a format 1 file the way the store does: openTable, scan.
func readAllSnap(path string) (int, error) {
	tf, err := openTable(path)
	if err != nil {
		return 0, err
	}
	defer tf.close()
	it, err := tf.scan(context.Background())
	if err != nil {
		return 0, err
	}
	defer it.close()
	n := 0
	for it.next() {
		n++
	}
	return n, it.err()
}
