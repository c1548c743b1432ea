package sync

import (
	"fmt"
	"os"
	"testing"
)

func TestIDSpill(t *testing.T) {
	dir := t.TempDir()
	s := newIDSpill(dir)
	// answered out of order, more batches than the cache holds
	const batches = 3 * idCacheBatches
	for seq := batches - 1; seq >= 0; seq-- {
		ids := make([]string, 5)
		for row := range ids {
			if row != 2 { // a row the destination gave no ID for
				ids[row] = fmt.Sprintf("id-%d-%d", seq, row)
			}
		}
		if err := s.keep(seq, ids); err != nil {
			t.Fatal(err)
		}
	}
	check := func(seq, row int, want string) {
		t.Helper()
		got, err := s.get(seq, row)
		if err != nil || got != want {
			t.Fatalf("get(%d, %d) = %q, %v; want %q", seq, row, got, err, want)
		}
	}
	// the commit's walk: batches interleaved, each revisited
	for seq := 0; seq+1 < batches; seq += 2 {
		for row := range 6 {
			for _, q := range []int{seq, seq + 1} {
				want := fmt.Sprintf("id-%d-%d", q, row)
				if row == 2 || row == 5 {
					want = ""
				}
				check(q, row, want)
			}
		}
	}
	check(batches, 0, "") // a batch that learnt nothing
	if len(s.cache) > idCacheBatches {
		t.Fatalf("%d batches cached, want at most %d", len(s.cache), idCacheBatches)
	}

	// bookkeeping saved before a joint commit, a batch answered again
	// with other IDs, then restored: the first answer is what counts
	saved := s.saveSpans()
	check(0, 0, "id-0-0")
	if err := s.keep(0, []string{"again"}); err != nil {
		t.Fatal(err)
	}
	check(0, 0, "again")
	s.restoreSpans(saved)
	check(0, 0, "id-0-0")

	name := s.f.Name()
	s.close()
	if _, err := os.Stat(name); !os.IsNotExist(err) {
		t.Fatalf("%s still there after close: %v", name, err)
	}
}

func TestIDSpillCorrupt(t *testing.T) {
	s := newIDSpill(t.TempDir())
	if err := s.keep(0, []string{"a", "b"}); err != nil {
		t.Fatal(err)
	}
	defer s.close()
	if _, err := s.f.WriteAt([]byte{9}, 0); err != nil { // claims 9 IDs
		t.Fatal(err)
	}
	s.cache = nil
	if _, err := s.get(0, 0); err == nil {
		t.Fatal("a corrupt spill read without an error")
	}
}
