package state

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tableEntry is a model entry; rm marks a removal.
type tableEntry struct {
	key, row string
	rm       bool
}

// writeTestTable writes es (ascending) as a table file and returns its path.
func writeTestTable(t testing.TB, dir string, codec byte, blockSize int, es []tableEntry) string {
	t.Helper()
	path := filepath.Join(dir, fmt.Sprintf("t-%d-%d.bin", codec, blockSize))
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := os.CreateTemp(dir, "idx")
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	w, err := newTableWriter(f, idx, codec, blockSize)
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	for _, e := range es {
		w.add([]byte(e.key), []byte(e.row), nil, e.rm)
	}
	if err := w.finish(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func scanTable(path string) ([]tableEntry, error) {
	tf, err := openTable(path)
	if err != nil {
		return nil, err
	}
	defer tf.close()
	it, err := tf.scan(context.Background())
	if err != nil {
		return nil, err
	}
	defer it.close()
	var out []tableEntry
	for it.next() {
		out = append(out, tableEntry{string(it.key()), string(it.row()), it.removed()})
	}
	return out, it.err()
}

// randomTable makes n ascending entries with rows of 0 to 300 bytes (some
// empty) and every seventh a removal.
func randomTable(rng *rand.Rand, n int) []tableEntry {
	es := make([]tableEntry, n)
	for i := range es {
		row := strings.Repeat(string(rune('a'+rng.IntN(26))), rng.IntN(300))
		es[i] = tableEntry{key: fmt.Sprintf("key%06d", i*3), row: row, rm: i%7 == 3}
		if es[i].rm {
			es[i].row = ""
		}
	}
	return es
}

func TestTableRoundTrip(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	es := randomTable(rng, 3000)
	for _, codec := range []byte{codecNone, codecS2, codecZstd} {
		for _, bs := range []int{1, 100, 4096, 1 << 20} {
			t.Run(fmt.Sprintf("codec%d/block%d", codec, bs), func(t *testing.T) {
				t.Parallel()
				path := writeTestTable(t, t.TempDir(), codec, bs, es)
				got, err := scanTable(path)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(es) {
					t.Fatalf("read %d entries, wrote %d", len(got), len(es))
				}
				for i := range es {
					if got[i] != es[i] {
						t.Fatalf("entry %d = %+v, want %+v", i, got[i], es[i])
					}
				}
			})
		}
	}
}

// TestTableSeekMatchesModel looks up random ascending key sets (present,
// absent, before the first and past the last key) and checks each answer
// against the entries, for block sizes from one entry per block up.
func TestTableSeekMatchesModel(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	es := randomTable(rng, 2000)
	byKey := map[string]tableEntry{}
	for _, e := range es {
		byKey[e.key] = e
	}
	for _, bs := range []int{1, 64, 4096, 1 << 20} {
		t.Run(fmt.Sprint("block", bs), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(uint64(bs), 4))
			path := writeTestTable(t, t.TempDir(), codecS2, bs, es)
			tf, err := openTable(path)
			if err != nil {
				t.Fatal(err)
			}
			defer tf.close()
			for round := range 30 {
				sk, err := tf.seeker(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				// ascending probes: every (3i+d) for a random stride, d in 0..2
				stride := 1 + rng.IntN(200)
				for i := -1; i*3 < 2000*3+10; i += stride {
					probe := fmt.Sprintf("key%06d", max(i*3+rng.IntN(3), 0))
					if i < 0 {
						probe = "a" // before every key
					}
					found := sk.seekGE([]byte(probe))
					want, ok := byKey[probe]
					if err := sk.err(); err != nil {
						t.Fatal(err)
					}
					switch {
					case ok && (!found || string(sk.key()) != probe):
						t.Fatalf("round %d: seek %s: missed it", round, probe)
					case ok && (string(sk.row()) != want.row || sk.removed() != want.rm):
						t.Fatalf("round %d: seek %s: row %q removed %v, want %+v", round, probe, sk.row(), sk.removed(), want)
					case !ok && found && string(sk.key()) <= probe:
						t.Fatalf("round %d: seek %s landed on %s", round, probe, sk.key())
					}
				}
				if sk.seekGE([]byte("zzz")) {
					t.Fatalf("seek past the last key found %s", sk.key())
				}
				sk.close()
			}
		})
	}
}

// A lookup of 1% of the keys reads a small part of the blocks.
func TestTableSeekReadsFewBlocks(t *testing.T) {
	t.Parallel()
	es := make([]tableEntry, 100_000)
	for i := range es {
		es[i] = tableEntry{key: fmt.Sprintf("cust-%08d", i), row: strings.Repeat("x", 100)}
	}
	path := writeTestTable(t, t.TempDir(), codecS2, defaultBlockSize, es)
	tf, err := openTable(path)
	if err != nil {
		t.Fatal(err)
	}
	defer tf.close()
	sk, err := tf.seeker(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer sk.close()
	for i := 0; i < len(es); i += 100 {
		if !sk.seekGE([]byte(es[i].key)) || string(sk.key()) != es[i].key {
			t.Fatalf("seek %s failed: %v", es[i].key, sk.err())
		}
	}
	bs := sk.(*blockSeek)
	if bs.loaded*2 > tf.blocks { // ~36 entries a block: about a third hold a probed key
		t.Fatalf("1%% of keys loaded %d of %d blocks", bs.loaded, tf.blocks)
	}
	t.Logf("1%% of %d keys: %d of %d blocks loaded", len(es), bs.loaded, tf.blocks)
}

// TestTableDetectsDamage: a damaged table must fail loudly, by scan and by
// seek, never read as a shorter or different table.
func TestTableDetectsDamage(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 6))
	es := randomTable(rng, 800)
	dir := t.TempDir()
	for _, codec := range []byte{codecNone, codecS2, codecZstd} {
		path := writeTestTable(t, dir, codec, 512, es)
		orig, _ := os.ReadFile(path)
		damage := []struct {
			name string
			edit func([]byte) []byte
		}{
			{"cut in the middle", func(b []byte) []byte { return b[:len(b)/2] }},
			{"last byte cut", func(b []byte) []byte { return b[:len(b)-1] }},
			{"block byte flipped", func(b []byte) []byte { b[tableHeaderLen+40] ^= 0x10; return b }},
			{"trailing garbage", func(b []byte) []byte { return append(b, 1, 2, 3) }},
			{"block count", func(b []byte) []byte { b[len(b)-tableFooterLen+16]++; return b }},
			{"entry count", func(b []byte) []byte { b[len(b)-tableFooterLen+8]--; return b }},
			{"bad magic", func(b []byte) []byte { b[0] = 'X'; return b }},
			{"future version", func(b []byte) []byte { b[len(snapMagic)] = 9; return b }},
		}
		for _, d := range damage {
			bad := filepath.Join(dir, fmt.Sprintf("bad-%d-%s", codec, strings.ReplaceAll(d.name, " ", "-")))
			os.WriteFile(bad, d.edit(bytes.Clone(orig)), 0o644)
			if got, err := scanTable(bad); err == nil {
				t.Errorf("codec %d, %s: scan read %d entries cleanly", codec, d.name, len(got))
			}
		}
		// every truncation is caught, by scan or on open
		for cut := 0; cut < len(orig); cut += 97 {
			bad := filepath.Join(dir, "cut")
			os.WriteFile(bad, orig[:cut], 0o644)
			if got, err := scanTable(bad); err == nil {
				t.Fatalf("codec %d: file cut to %d of %d bytes read cleanly (%d entries)", codec, cut, len(orig), len(got))
			}
		}
	}
}

// A flipped byte in a block or the index fails the seek that reaches it.
func TestTableSeekDetectsDamage(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 8))
	es := randomTable(rng, 800)
	dir := t.TempDir()
	path := writeTestTable(t, dir, codecS2, 512, es)
	orig, _ := os.ReadFile(path)
	tf, _ := openTable(path)
	indexOff := tf.indexOff
	tf.close()
	for _, at := range []int{tableHeaderLen + 40, int(indexOff) + 3, int(indexOff) + 30} {
		b := bytes.Clone(orig)
		b[at] ^= 0x21
		bad := filepath.Join(dir, fmt.Sprint("flip", at))
		os.WriteFile(bad, b, 0o644)
		tf, err := openTable(bad)
		if err != nil {
			continue // caught on open
		}
		sk, _ := tf.seeker(context.Background())
		ok := true
		for _, e := range es {
			if !sk.seekGE([]byte(e.key)) || string(sk.key()) != e.key || string(sk.row()) != e.row {
				ok = false
				break
			}
		}
		if ok || sk.err() == nil {
			t.Errorf("byte %d flipped: every key found intact (%v) or no error (%v)", at, ok, sk.err())
		}
		sk.close()
		tf.close()
	}
}

// FuzzTableRead feeds arbitrary bytes to the table reader: it may refuse
// them, but must never panic or allocate without bound.
func FuzzTableRead(f *testing.F) {
	dir := f.TempDir()
	es := []tableEntry{{"a", "1", false}, {"b", "", true}, {"c", strings.Repeat("z", 90), false}}
	for _, codec := range []byte{codecNone, codecS2, codecZstd} {
		b, _ := os.ReadFile(writeTestTable(f, dir, codec, 16, es))
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "t.bin")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		scanTable(path)
		tf, err := openTable(path)
		if err != nil {
			return
		}
		defer tf.close()
		sk, err := tf.seeker(context.Background())
		if err != nil {
			return
		}
		defer sk.close()
		for _, k := range []string{"", "a", "b", "bb", "c", "zz"} {
			sk.seekGE([]byte(k))
		}
	})
}
