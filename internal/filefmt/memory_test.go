package filefmt

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// peakAllocator tracks the most Arrow memory held at once.
type peakAllocator struct {
	memory.Allocator
	cur, peak atomic.Int64
}

func (p *peakAllocator) add(n int) {
	c := p.cur.Add(int64(n))
	for {
		old := p.peak.Load()
		if c <= old || p.peak.CompareAndSwap(old, c) {
			return
		}
	}
}

func (p *peakAllocator) Allocate(n int) []byte { p.add(n); return p.Allocator.Allocate(n) }
func (p *peakAllocator) Reallocate(n int, b []byte) []byte {
	p.add(n - len(b))
	return p.Allocator.Reallocate(n, b)
}
func (p *peakAllocator) Free(b []byte) { p.add(-len(b)); p.Allocator.Free(b) }

// TestReadMemoryFlat reads files of 20k and 200k rows in batches of 1000 and
// checks the Arrow memory held at once does not grow with the file: readers
// stream, they never load a whole file.
func TestReadMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 200k-row files")
	}
	t.Parallel()
	for _, format := range []string{Parquet, CSV, JSONL} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			peak := func(rows int) int64 {
				dir := t.TempDir()
				path := filepath.Join(dir, "f"+Ext(format))
				mem := checked(t)
				var chunks []arrow.RecordBatch
				for from := 0; from < rows; from += 50_000 {
					chunks = append(chunks, sampleRecord(mem, from, min(50_000, rows-from)))
				}
				encodeFile(t, path, format, sampleSchema, chunks...)
				for _, c := range chunks {
					c.Release()
				}
				pa := &peakAllocator{Allocator: checked(t)}
				rr, err := Open(context.Background(), path, format, ReadOptions{Rows: 1000, Alloc: pa})
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				for rr.Next() {
					n += int(rr.RecordBatch().NumRows())
				}
				if err := rr.Err(); err != nil {
					t.Fatal(err)
				}
				rr.Release()
				if n != rows {
					t.Fatalf("read %d rows, want %d", n, rows)
				}
				return pa.peak.Load()
			}
			// Parquet holds up to a row group's column chunks (RowGroupRows
			// rows), so its sizes start past one row group.
			rows := []int{20_000, 200_000}
			switch {
			case format == Parquet && raceEnabled:
				rows = []int{RowGroupRows + 5_000, 2*RowGroupRows + 5_000}
			case format == Parquet:
				rows = []int{RowGroupRows + 20_000, 4*RowGroupRows + 20_000}
			case raceEnabled:
				rows = []int{5_000, 50_000}
			}
			small, large := peak(rows[0]), peak(rows[1])
			t.Logf("%s: peak Arrow memory %d KB at %d rows, %d KB at %d rows", format, small>>10, rows[0], large>>10, rows[1])
			if float64(large) > 1.5*float64(small) {
				t.Fatalf("peak memory grew from %d to %d bytes with 4-10x the rows", small, large)
			}
		})
	}
}
