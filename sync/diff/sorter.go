package diff

import (
	"bufio"
	"bytes"
	"cmp"
	"container/heap"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/klauspost/compress/s2"
)

// DefaultSortMemory is how many bytes of encoded rows a Sorter holds before
// it spills a sorted run to disk. 16 MiB keeps peak memory nearly the same at
// 100k rows as at 10M (make bench), and the extra runs cost the k-way merge
// nothing measurable: 2M rows diffed in 2.6 s at 80 MB peak RSS, against
// 3.6 s and 201 MB with 64 MiB (make bench-diff). Each spilled run is read
// back through a 16 KiB buffer and one 64 KiB S2 block (runBlock), so 10M
// rows (about 145 runs) add only ~15 MB.
const DefaultSortMemory = 16 << 20

// arenaChunk is the unit the arena grows by. One contiguous arena grown by
// append is copied at every growth, so just before the first spill the old
// and new copies were live together: 108 MB of heap for the 64 MiB budget
// (heap profile of a 1M-row upsert), which the GC's headroom then doubled in
// RSS (bench-diff: 330 MB peak at 2M rows before, 201 MB after).
// Fixed chunks are never copied and are reused after each spill.
const arenaChunk = 1 << 20

// Sorter sorts (key, row) entries by key with bounded memory: entries are
// buffered in one arena, sorted and spilled as runs once the arena is full,
// then merged. Among equal keys, entries come out in the order added, so
// "last wins" is the last of a run of equal keys.
type Sorter struct {
	dir    string
	limit  int
	chunks [][]byte // entries live in chunks[0..cur]; an entry never spans two
	cur    int
	used   int // bytes of entries held, checked against limit
	items  []item
	seq    uint64
	runs   []string
	closed bool
	keep   bool // runs outlive an iterator (KeepRuns)
}

// KeepRuns makes the spilled runs outlive the iterators, so that Iter may
// be called again; Remove deletes them.
func (s *Sorter) KeepRuns() { s.keep = true }

// Remove deletes the spilled runs (after KeepRuns).
func (s *Sorter) Remove() {
	for _, name := range s.runs {
		os.Remove(name)
	}
	s.runs = nil
}

type item struct {
	chunk, off, klen, rlen, alen uint32
	seq                          uint64
	// pre is the key's first 8 bytes, big-endian and zero-padded: it
	// orders most pairs without reaching into the arena.
	pre uint64
}

// keyPrefix is the sort prefix of key (see item.pre).
func keyPrefix(key []byte) uint64 {
	if len(key) >= 8 {
		return binary.BigEndian.Uint64(key)
	}
	var b [8]byte
	copy(b[:], key)
	return binary.BigEndian.Uint64(b[:])
}

// NewSorter spills into dir (a temp folder the caller removes) past limit bytes.
func NewSorter(dir string, limit int) *Sorter {
	if limit <= 0 {
		limit = DefaultSortMemory
	}
	return &Sorter{dir: dir, limit: limit}
}

// Add copies key, row and aux (opaque data carried along, such as the row's
// cursor value) into the sorter.
func (s *Sorter) Add(key, row, aux []byte) error {
	n := len(key) + len(row) + len(aux)
	if s.used+n > s.limit && len(s.items) > 0 {
		if err := s.spill(); err != nil {
			return err
		}
	}
	c := s.room(n)
	off := len(s.chunks[c])
	b := append(s.chunks[c], key...)
	b = append(b, row...)
	s.chunks[c] = append(b, aux...)
	s.used += n
	s.items = append(s.items, item{chunk: uint32(c), off: uint32(off), klen: uint32(len(key)), rlen: uint32(len(row)), alen: uint32(len(aux)), seq: s.seq, pre: keyPrefix(key)})
	s.seq++
	return nil
}

// room returns the chunk that takes the next n bytes without growing: the
// current one, else the next (reused after a spill, or new). An entry larger
// than a chunk gets a chunk of its own size.
func (s *Sorter) room(n int) int {
	if len(s.chunks) > 0 && cap(s.chunks[s.cur])-len(s.chunks[s.cur]) >= n {
		return s.cur
	}
	if len(s.chunks) > 0 {
		s.cur++
	}
	if s.cur == len(s.chunks) {
		s.chunks = append(s.chunks, nil)
	}
	if cap(s.chunks[s.cur]) < n {
		s.chunks[s.cur] = make([]byte, 0, max(arenaChunk, n))
	}
	return s.cur
}

func (s *Sorter) entry(it item) []byte {
	return s.chunks[it.chunk][it.off : it.off+it.klen+it.rlen+it.alen]
}
func (s *Sorter) key(it item) []byte { return s.chunks[it.chunk][it.off : it.off+it.klen] }
func (s *Sorter) row(it item) []byte {
	return s.chunks[it.chunk][it.off+it.klen : it.off+it.klen+it.rlen]
}
func (s *Sorter) aux(it item) []byte {
	return s.chunks[it.chunk][it.off+it.klen+it.rlen : it.off+it.klen+it.rlen+it.alen]
}

func (s *Sorter) sortItems() {
	slices.SortFunc(s.items, func(a, b item) int {
		if a.pre != b.pre {
			return cmp.Compare(a.pre, b.pre)
		}
		if c := bytes.Compare(s.key(a), s.key(b)); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
}

func (s *Sorter) spill() error {
	s.sortItems()
	f, err := os.CreateTemp(s.dir, "run-*.bin")
	if err != nil {
		return fmt.Errorf("spill sorted run: %w", err)
	}
	w := s2.NewWriter(f, s2.WriterConcurrency(1), s2.WriterBlockSize(runBlock))
	var hdr [4 * binary.MaxVarintLen64]byte
	for _, it := range s.items {
		n := binary.PutUvarint(hdr[:], it.seq)
		n += binary.PutUvarint(hdr[n:], uint64(it.klen))
		n += binary.PutUvarint(hdr[n:], uint64(it.rlen))
		n += binary.PutUvarint(hdr[n:], uint64(it.alen))
		w.Write(hdr[:n])
		w.Write(s.entry(it))
	}
	if err := w.Close(); err != nil {
		f.Close()
		return fmt.Errorf("spill sorted run: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("spill sorted run: %w", err)
	}
	s.runs = append(s.runs, f.Name())
	for i := range s.chunks {
		s.chunks[i] = s.chunks[i][:0]
	}
	s.cur, s.used = 0, 0
	s.items = s.items[:0]
	return nil
}

// runBlock is the S2 block size of spilled runs. Rows encode with their
// field names, so a run compresses to about a third (a first load's temp
// files stay below the table's own size); small blocks keep the buffers of
// a merge over many runs small (each open run holds about two blocks).
const runBlock = 64 << 10

// Spilled reports how many runs went to disk.
func (s *Sorter) Spilled() int { return len(s.runs) }

// Iter returns the entries in key order. The Sorter takes no more Adds.
// After KeepRuns it may be called again, once the last iterator is closed.
func (s *Sorter) Iter() (*SortedIter, error) {
	s.closed = true
	it := &SortedIter{}
	if len(s.items) > 0 || len(s.runs) == 0 {
		s.sortItems()
		it.sources = append(it.sources, &memRun{s: s})
	}
	for _, name := range s.runs {
		f, err := os.Open(name)
		if err != nil {
			it.Close()
			return nil, fmt.Errorf("open sorted run: %w", err)
		}
		zr := s2.NewReader(f, s2.ReaderMaxBlockSize(runBlock))
		it.sources = append(it.sources, &fileRun{f: f, r: bufio.NewReaderSize(zr, 16<<10), keep: s.keep})
	}
	for _, src := range it.sources {
		ok, err := src.next()
		if err != nil {
			it.Close()
			return nil, err
		}
		if ok {
			it.h = append(it.h, src)
		}
	}
	heap.Init(&it.h)
	return it, nil
}

// run is one sorted source of the merge.
type run interface {
	next() (bool, error)
	cur() (key, row, aux []byte, seq uint64)
	close() error
}

type memRun struct {
	s *Sorter
	i int
}

func (m *memRun) next() (bool, error) { m.i++; return m.i <= len(m.s.items), nil }
func (m *memRun) cur() ([]byte, []byte, []byte, uint64) {
	it := m.s.items[m.i-1]
	return m.s.key(it), m.s.row(it), m.s.aux(it), it.seq
}
func (m *memRun) close() error { return nil }

type fileRun struct {
	f        *os.File
	r        *bufio.Reader
	buf      []byte
	klen     int
	rlen     int
	seq      uint64
	finished bool
	keep     bool
}

func (f *fileRun) next() (bool, error) {
	seq, err := binary.ReadUvarint(f.r)
	if err == io.EOF {
		f.finished = true
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read sorted run: %w", err)
	}
	kl, err1 := binary.ReadUvarint(f.r)
	rl, err2 := binary.ReadUvarint(f.r)
	al, err3 := binary.ReadUvarint(f.r)
	if err1 != nil || err2 != nil || err3 != nil {
		return false, fmt.Errorf("read sorted run: truncated")
	}
	n := int(kl + rl + al)
	if cap(f.buf) < n {
		f.buf = make([]byte, n)
	}
	f.buf = f.buf[:n]
	if _, err := io.ReadFull(f.r, f.buf); err != nil {
		return false, fmt.Errorf("read sorted run: %w", err)
	}
	f.klen, f.rlen, f.seq = int(kl), int(rl), seq
	return true, nil
}
func (f *fileRun) cur() ([]byte, []byte, []byte, uint64) {
	return f.buf[:f.klen], f.buf[f.klen : f.klen+f.rlen], f.buf[f.klen+f.rlen:], f.seq
}
func (f *fileRun) close() error {
	name := f.f.Name()
	err := f.f.Close()
	if !f.keep {
		os.Remove(name)
	}
	return err
}

type runHeap []run

func (h runHeap) Len() int { return len(h) }
func (h runHeap) Less(i, j int) bool {
	ki, _, _, si := h[i].cur()
	kj, _, _, sj := h[j].cur()
	if c := bytes.Compare(ki, kj); c != 0 {
		return c < 0
	}
	return si < sj
}
func (h runHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *runHeap) Push(x any)   { *h = append(*h, x.(run)) }
func (h *runHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// SortedIter merges the sorter's runs in key order.
type SortedIter struct {
	sources []run
	h       runHeap
	key     []byte
	row     []byte
	aux     []byte
	started bool
	held    bool
	err     error
}

// pushBack makes the next call to Next return the current entry again.
func (it *SortedIter) pushBack() { it.held = true }

// Next advances; entries are valid until the next call.
func (it *SortedIter) Next() bool {
	if it.err != nil {
		return false
	}
	if it.held {
		it.held = false
		return true
	}
	if it.started && len(it.h) > 0 {
		// advance the source the last entry came from (the heap top)
		ok, err := it.h[0].next()
		if err != nil {
			it.err = err
			return false
		}
		if ok {
			heap.Fix(&it.h, 0)
		} else {
			heap.Pop(&it.h)
		}
	}
	it.started = true
	if len(it.h) == 0 {
		return false
	}
	k, r, a, _ := it.h[0].cur()
	it.key = append(it.key[:0], k...)
	it.row = append(it.row[:0], r...)
	it.aux = append(it.aux[:0], a...)
	return true
}

// Key and Row of the current entry.
func (it *SortedIter) Key() []byte { return it.key }
func (it *SortedIter) Row() []byte { return it.row }

// Aux is the opaque data added with the current entry.
func (it *SortedIter) Aux() []byte { return it.aux }

// Err returns the first error.
func (it *SortedIter) Err() error { return it.err }

// Close removes spilled runs.
func (it *SortedIter) Close() error {
	var first error
	for _, s := range it.sources {
		if err := s.close(); err != nil && first == nil {
			first = err
		}
	}
	it.sources = nil
	return first
}
