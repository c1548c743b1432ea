package state

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// BenchmarkCommitDelta commits a 1% delta (per 300 keys: one changed row, one
// added key, one removed key) into a 2,000,000-entry snapshot, as a cursor
// sync's commit does after each run. Most commits append a delta table; every
// 9th merges the deltas and every ~25th rewrites the base, so ns/op is the
// amortized cost.
//
//	go test -tags minicore_disabled -run '^$' -bench 'CommitDelta|Compaction' -benchtime 25x ./sync/state/
func BenchmarkCommitDelta(b *testing.B) {
	benchCommits(b, codecS2, defaultDeltaShare)
}

// BenchmarkCompaction is BenchmarkCommitDelta with every commit rewriting
// the whole snapshot (as every commit did before delta tables), per codec.
// It chose defaultCodec (2 shared cores): s2 rewrote 2M entries in 0.18 s
// into 51 MB, zstd in 0.53 s into 23 MB, no codec in 0.23 s into 205 MB.
// Rewrites and full reads are on a run's critical path; disk is cheap.
func BenchmarkCompaction(b *testing.B) {
	for _, bc := range []struct {
		name  string
		codec byte
	}{{"s2", codecS2}, {"zstd", codecZstd}, {"none", codecNone}} {
		b.Run(bc.name, func(b *testing.B) { benchCommits(b, bc.codec, 1<<40) })
	}
}

func benchCommits(b *testing.B, codec byte, deltaShare int64) {
	const n = 2_000_000
	s := openTestStore(b, b.TempDir())
	s.codec, s.deltaShare = codec, deltaShare
	ctx := context.Background()
	if err := s.Commit(ctx, "bench", &Commit{Delta: custIter(n, 0)}); err != nil {
		b.Fatal(err)
	}
	for v := 1; b.Loop(); v++ {
		if err := s.Commit(ctx, "bench", &Commit{Delta: onePercentDelta(n, v)}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	dir, _ := s.syncDir("bench")
	st, _ := readState(dir, "bench")
	fi, err := os.Stat(filepath.Join(dir, st.Snapshot))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(fi.Size())/(1<<20), "base-MB")
	if st.SnapshotRows < n-n/300 || st.SnapshotRows > n+n/300 {
		b.Fatal(fmt.Sprintf("snapshot rows %d drifted from %d", st.SnapshotRows, n))
	}
}

// onePercentDelta yields, for every 300th key j in order: j changed, j+"a"
// added (sorts right after j), j+150 removed.
func onePercentDelta(n, version int) *genIter {
	return &genIter{n: n / 300 * 3, fill: func(i int, k, r []byte) ([]byte, []byte) {
		j := i / 3 * 300
		switch i % 3 {
		case 0:
			return custKey(k, j), custRow(r, j, version)
		case 1:
			return append(custKey(k, j), 'a'), custRow(r, j, version)
		default:
			return custKey(k, j+150), nil
		}
	}}
}

// BenchmarkSnapshotScan reads a 2,000,000-entry snapshot, as every plan and
// run does before diffing.
func BenchmarkSnapshotScan(b *testing.B) {
	const n = 2_000_000
	s := openTestStore(b, b.TempDir())
	ctx := context.Background()
	if err := s.Commit(ctx, "bench", &Commit{Delta: custIter(n, 0)}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		it, err := s.Snapshot(ctx, "bench")
		if err != nil {
			b.Fatal(err)
		}
		var bytes, count int64
		for it.Next() {
			e := it.Entry()
			bytes += int64(len(e.Key) + len(e.Row) + 3)
			count++
		}
		if err := it.Close(); err != nil || it.Err() != nil || count != n {
			b.Fatalf("read %d entries: %v %v", count, err, it.Err())
		}
		b.SetBytes(bytes)
	}
}

// wideRow is a ~250-byte row with hex digests in it, like the encoded rows of
// bench-postgres' 10-column table (hex compresses about 2:1, not 10:1).
func wideRow(dst []byte, i, version int) []byte {
	dst = custRow(dst, i, version)
	h := uint64(i)*0x9e3779b97f4a7c15 + uint64(version)
	for range 8 {
		h ^= h >> 29
		h *= 0xbf58476d1ce4e5b9
		dst = strconv.AppendUint(dst, h, 16)
	}
	return dst
}

// BenchmarkTableLookup looks up 1% of 2,000,000 keys (every 100th, as an
// incremental run over a table updated evenly does) in a base table of ~250
// byte rows, per block size, and reads the table in full at each size.
//
//	go test -tags minicore_disabled -run '^$' -bench TableLookup -benchtime 5x ./sync/state/
//
// It chose defaultBlockSize (2 shared cores, 2026-11-30): lookup / full read /
// file size were 2 KiB 30 ms / 140 ms / 320 MB, 4 KiB 34–39 ms / 143–162 ms /
// 309 MB, 8 KiB 50–53 ms / 121–126 ms / 303 MB, 16 KiB 84–86 ms / 122 ms /
// 300 MB. Larger blocks read most of the file to find 1% of the keys; below
// 4 KiB lookups gain little while the file and its index grow.
func BenchmarkTableLookup(b *testing.B) {
	const n = 2_000_000
	for _, bs := range []int{2 << 10, 4 << 10, 8 << 10, 16 << 10} {
		s := openTestStore(b, b.TempDir())
		s.blockSize = bs
		ctx := context.Background()
		gen := &genIter{n: n, fill: func(i int, k, r []byte) ([]byte, []byte) { return custKey(k, i), wideRow(r, i, 0) }}
		if err := s.Commit(ctx, "bench", &Commit{Delta: gen}); err != nil {
			b.Fatal(err)
		}
		dir, _ := s.syncDir("bench")
		st, _ := readState(dir, "bench")
		fi, _ := os.Stat(filepath.Join(dir, st.Snapshot))
		var keys [][]byte
		for i := 0; i < n; i += 100 {
			keys = append(keys, custKey(nil, i))
		}
		b.Run(fmt.Sprintf("lookup/block%dk", bs>>10), func(b *testing.B) {
			for b.Loop() {
				l, err := s.Lookup(ctx, "bench")
				if err != nil {
					b.Fatal(err)
				}
				found := 0
				for c := 0; c < len(keys); c += 4096 {
					l.Get(ctx, keys[c:min(c+4096, len(keys))], func(Entry) error { found++; return nil })
				}
				l.Close()
				if found != len(keys) {
					b.Fatalf("found %d of %d", found, len(keys))
				}
			}
			b.ReportMetric(float64(fi.Size())/(1<<20), "file-MB")
		})
		b.Run(fmt.Sprintf("scan/block%dk", bs>>10), func(b *testing.B) {
			for b.Loop() {
				it, _ := s.Snapshot(ctx, "bench")
				count := 0
				for it.Next() {
					count++
				}
				if it.Close(); it.Err() != nil || count != n {
					b.Fatalf("read %d: %v", count, it.Err())
				}
			}
		})
	}
}
