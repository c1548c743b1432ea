package state

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	stdsync "sync"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
)

// Table file format (version 3) of snapshot-<gen>.bin and delta-<gen>.bin,
// written once and never modified:
//
//	header  "HOISTSNP" | version byte (3) | codec byte
//	block*  uvarint(len(data)) | crc32c(data) uint32 LE | data
//	          data: the codec's block encoding of entries in key order,
//	          entry = uvarint(len(key)) key uvarint(tag) payload
//	          tag 0 removes key (delta tables only), else tag = len(payload)+1;
//	          payload = uvarint(len(id)) id row (version 4), or row (2 and 3)
//	index   per block: uvarint(len(first key)) first key uvarint(block offset)
//	          crc32c(data) uint32 LE (version 3; version 2 has none)
//	footer  index offset uint64 LE | entries uint64 LE | blocks uint64 LE | "HSNPEND!"
//
// Blocks are small and compressed one by one so that a lookup of a few keys
// decompresses only the blocks that hold them, finding them through the
// index; a full read streams the blocks in order and never needs the index.
// The CRC catches damage to a block, the footer's counts a file cut short.
// Version 3 repeats each block's CRC in the index, so that a checksum of
// header, index and footer (the seal state.json records, see file_seal.go)
// binds every block without reading them; version 4 keeps each row's record
// ID (Entry.ID) in front of it. Versions 2 and 3 are still read.
const (
	tableVersion    = 4
	tableVersion3   = 3
	tableVersion2   = 2
	tableHeaderLen  = len(snapMagic) + 2
	tableFooterLen  = 8 + 8 + 8 + len(tableEndMagic)
	tableEndMagic   = "HSNPEND!"
	blockHeaderMax  = binary.MaxVarintLen64 + 4
	tagRemoved      = 0
	indexBufSize    = 64 << 10
	tableWriterBufs = 256 << 10
)

// writeVersion is the format new tables are written in; tests set it to an
// earlier one to make the tables an earlier hoist wrote.
var writeVersion byte = tableVersion

// defaultBlockSize is the uncompressed size a block is cut at. Chosen by
// BenchmarkTableLookup: see its comment.
const defaultBlockSize = 4 << 10

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// tableWriter streams entries in ascending key order into a table file.
// Blocks are filled by the caller and compressed and written by a goroutine
// of the writer's own, so that reading the entries (a merge, a changeset)
// and compressing overlap, as a compressed stream's writer would. The index
// is spilled to its own temp file while blocks are written and appended at
// the end, so memory stays flat however large the table.
type tableWriter struct {
	blockSize int
	cur       *blockGroup // the group being filled
	work      chan *blockGroup
	free      chan *blockGroup
	done      chan struct{}
	closed    bool
	n         int64 // entries
	version   byte

	// owned by the block goroutine until done is closed
	out    *bufio.Writer
	off    int64 // bytes written to out so far
	idxF   *os.File
	idx    *bufio.Writer
	codec  byte
	zenc   *zstd.Encoder
	comp   []byte
	ibuf   []byte // index entry being built
	blocks int64

	mu  stdsync.Mutex
	err error // the first write error

	sum hash.Hash32 // of header, index and footer: the table's seal
}

// blockGroup is a run of blocks before compression, handed to the block
// goroutine together: one handoff per block costs more than compressing it.
type blockGroup struct {
	raw     []byte // the blocks' entries, back to back
	ends    []int  // where each closed block ends in raw
	keys    []byte // each block's first key, back to back
	keyEnds []int
}

func (g *blockGroup) reset() {
	g.raw, g.ends, g.keys, g.keyEnds = g.raw[:0], g.ends[:0], g.keys[:0], g.keyEnds[:0]
}

// blockStart is where the open block starts in raw.
func (g *blockGroup) blockStart() int {
	if len(g.ends) == 0 {
		return 0
	}
	return g.ends[len(g.ends)-1]
}

// Filled groups waiting for the block goroutine, and blocks per group.
const (
	groupsInFlight = 4
	groupBlocks    = 32
)

// newTableWriter writes to f; idxF is an empty temp file it may use and the
// caller removes afterwards. The caller must finish or close it.
func newTableWriter(f io.Writer, idxF *os.File, codec byte, blockSize int) (*tableWriter, error) {
	w := &tableWriter{out: bufio.NewWriterSize(f, tableWriterBufs), idxF: idxF, idx: bufio.NewWriterSize(idxF, indexBufSize),
		codec: codec, blockSize: max(blockSize, 1), version: writeVersion}
	switch codec {
	case codecNone, codecS2:
	case codecZstd:
		enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
		if err != nil {
			return nil, err
		}
		w.zenc = enc
	default:
		return nil, fmt.Errorf("unknown snapshot codec %d", codec)
	}
	hdr := append([]byte(snapMagic), w.version, codec)
	w.sum = crc32.New(crcTable)
	w.sum.Write(hdr)
	w.write(hdr)
	if w.err != nil {
		return nil, w.err
	}
	w.work, w.free, w.done = make(chan *blockGroup, groupsInFlight), make(chan *blockGroup, groupsInFlight+1), make(chan struct{})
	for range groupsInFlight + 1 {
		w.free <- &blockGroup{}
	}
	w.cur = <-w.free
	go w.writeBlocks()
	return w, nil
}

// failed returns the first write error, so a long copy can stop early.
func (w *tableWriter) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *tableWriter) fail(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.mu.Unlock()
}

// write is used by the block goroutine (and before it starts).
func (w *tableWriter) write(b []byte) {
	n, err := w.out.Write(b)
	w.off += int64(n)
	if err != nil {
		w.fail(err)
	}
}

// add appends an entry; removed marks a delta's removal of key (row and id
// unused).
func (w *tableWriter) add(key, row, id []byte, removed bool) {
	g := w.cur
	at := g.blockStart()
	if len(g.raw) == at {
		g.keys = append(g.keys, key...)
		g.keyEnds = append(g.keyEnds, len(g.keys))
	}
	g.raw = binary.AppendUvarint(g.raw, uint64(len(key)))
	g.raw = append(g.raw, key...)
	if removed {
		g.raw = binary.AppendUvarint(g.raw, tagRemoved)
	} else if w.version < tableVersion {
		g.raw = binary.AppendUvarint(g.raw, uint64(len(row))+1)
		g.raw = append(g.raw, row...)
	} else {
		g.raw = binary.AppendUvarint(g.raw, uint64(uvarintLen(uint64(len(id)))+len(id)+len(row))+1)
		g.raw = binary.AppendUvarint(g.raw, uint64(len(id)))
		g.raw = append(g.raw, id...)
		g.raw = append(g.raw, row...)
	}
	w.n++
	if len(g.raw)-at >= w.blockSize {
		g.ends = append(g.ends, len(g.raw))
		if len(g.ends) == groupBlocks {
			w.work <- g
			w.cur = <-w.free
		}
	}
}

// writeBlocks compresses and writes blocks in order until work is closed;
// after an error it only recycles them, so add never blocks for good.
func (w *tableWriter) writeBlocks() {
	defer close(w.done)
	for g := range w.work {
		start, kstart := 0, 0
		for i, end := range g.ends {
			if w.failed() != nil {
				break
			}
			w.writeBlock(g.raw[start:end], g.keys[kstart:g.keyEnds[i]])
			start, kstart = end, g.keyEnds[i]
		}
		g.reset()
		w.free <- g
	}
}

func (w *tableWriter) writeBlock(raw, firstKey []byte) {
	data := raw
	switch w.codec {
	case codecS2:
		w.comp = s2.Encode(w.comp[:cap(w.comp)], raw)
		data = w.comp
	case codecZstd:
		w.comp = w.zenc.EncodeAll(raw, w.comp[:0])
		data = w.comp
	}
	sum := crc32.Checksum(data, crcTable)
	// the index entry before the block: it records where the block starts
	e := binary.AppendUvarint(w.ibuf[:0], uint64(len(firstKey)))
	e = append(e, firstKey...)
	e = binary.AppendUvarint(e, uint64(w.off))
	e = binary.LittleEndian.AppendUint32(e, sum)
	w.ibuf = e
	if _, err := w.idx.Write(e); err != nil {
		w.fail(fmt.Errorf("spill index: %w", err))
		return
	}
	var hdr [blockHeaderMax]byte
	h := binary.AppendUvarint(hdr[:0], uint64(len(data)))
	h = binary.LittleEndian.AppendUint32(h, sum)
	w.write(h)
	w.write(data)
	w.blocks++
}

// stop hands over the last blocks and waits for the block goroutine.
func (w *tableWriter) stop() {
	if w.closed {
		return
	}
	w.closed = true
	g := w.cur
	if len(g.raw) > g.blockStart() {
		g.ends = append(g.ends, len(g.raw))
	}
	if len(g.ends) > 0 {
		w.work <- g
	}
	close(w.work)
	<-w.done
}

// finish writes the last block, the index and the footer, and flushes; the
// caller still owns (fsyncs, closes) the file.
func (w *tableWriter) finish() error {
	w.stop()
	if err := w.failed(); err != nil {
		return err
	}
	if err := w.idx.Flush(); err != nil {
		return fmt.Errorf("spill index: %w", err)
	}
	indexOff := w.off
	if _, err := w.idxF.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("rewind index: %w", err)
	}
	n, err := io.Copy(io.MultiWriter(w.out, w.sum), w.idxF)
	if err != nil {
		return fmt.Errorf("append index: %w", err)
	}
	w.off += n
	var foot [tableFooterLen]byte
	binary.LittleEndian.PutUint64(foot[0:], uint64(indexOff))
	binary.LittleEndian.PutUint64(foot[8:], uint64(w.n))
	binary.LittleEndian.PutUint64(foot[16:], uint64(w.blocks))
	copy(foot[24:], tableEndMagic)
	w.sum.Write(foot[:])
	w.write(foot[:])
	if err := w.failed(); err != nil {
		return err
	}
	return w.out.Flush()
}

// seal is what state.json records of the finished table.
func (w *tableWriter) seal() tableSeal {
	return tableSeal{Size: w.off, Checksum: tableSum(w.sum.Sum32())}
}

// close stops the block goroutine (if finish did not) and releases codec
// resources.
func (w *tableWriter) close() {
	w.stop()
	if w.zenc != nil {
		w.zenc.Close()
	}
}
