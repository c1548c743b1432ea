package state

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkCommitDelta commits a 1% delta (per 300 keys: one changed row, one
// added key, one removed key) into a 2,000,000-entry snapshot. MB/s counts the
// uncompressed entry bytes of the snapshot rewritten per commit.
//
//	go test -tags minicore_disabled -run '^$' -bench CommitDelta -benchtime 3x ./sync/state/
//
// It decided defaultCodec (see the report): the whole file is rewritten each
// commit, so codec speed dominates; s2 wins on time, zstd on size.
func BenchmarkCommitDelta(b *testing.B) {
	const n = 2_000_000
	for _, bc := range []struct {
		name  string
		codec byte
	}{{"s2", codecS2}, {"zstd", codecZstd}, {"none", codecNone}} {
		b.Run(bc.name, func(b *testing.B) {
			s := openTestStore(b, b.TempDir())
			s.codec = bc.codec
			ctx := context.Background()
			if err := s.Commit(ctx, "bench", &Commit{Delta: custIter(n, 0)}); err != nil {
				b.Fatal(err)
			}
			var rawBytes int64
			for i := range n {
				rawBytes += int64(len(custKey(nil, i)) + len(custRow(nil, i, 0)) + 3)
			}
			b.SetBytes(rawBytes)
			b.ResetTimer()
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
			b.ReportMetric(float64(fi.Size())/(1<<20), "file-MB")
			if st.SnapshotRows < n-n/300 || st.SnapshotRows > n+n/300 {
				b.Fatal(fmt.Sprintf("snapshot rows %d drifted from %d", st.SnapshotRows, n))
			}
		})
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
