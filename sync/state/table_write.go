package state

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
)

// Table file format (version 2) of snapshot-<gen>.bin and delta-<gen>.bin,
// written once and never modified:
//
//	header  "HOISTSNP" | version byte (2) | codec byte
//	block*  uvarint(len(data)) | crc32c(data) uint32 LE | data
//	          data: the codec's block encoding of entries in key order,
//	          entry = uvarint(len(key)) key uvarint(tag) row
//	          tag 0 removes key (delta tables only), else tag = len(row)+1
//	index   per block: uvarint(len(first key)) first key uvarint(block offset)
//	footer  index offset uint64 LE | entries uint64 LE | blocks uint64 LE | "HSNPEND!"
//
// Blocks are small and compressed one by one so that a lookup of a few keys
// decompresses only the blocks that hold them, finding them through the
// index; a full read streams the blocks in order and never needs the index.
// The CRC catches damage to a block, the footer's counts a file cut short.
const (
	tableVersion    = 2
	tableHeaderLen  = len(snapMagic) + 2
	tableFooterLen  = 8 + 8 + 8 + len(tableEndMagic)
	tableEndMagic   = "HSNPEND!"
	blockHeaderMax  = binary.MaxVarintLen64 + 4
	tagRemoved      = 0
	indexBufSize    = 64 << 10
	tableWriterBufs = 256 << 10
)

// defaultBlockSize is the uncompressed size a block is cut at. Chosen by
// BenchmarkTableLookup: see its comment.
const defaultBlockSize = 4 << 10

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// tableWriter streams entries in ascending key order into a table file.
// The index is spilled to its own temp file while blocks are written and
// appended at the end, so memory stays flat however large the table.
type tableWriter struct {
	out       *bufio.Writer
	off       int64 // bytes written to out so far
	idxF      *os.File
	idx       *bufio.Writer
	codec     byte
	blockSize int
	zenc      *zstd.Encoder

	raw      []byte // the block being filled
	comp     []byte
	firstKey []byte
	n        int64 // entries
	blocks   int64
	err      error
	vbuf     []byte // index entry being built
}

// newTableWriter writes to f; idxF is an empty temp file it may use and the
// caller removes afterwards.
func newTableWriter(f io.Writer, idxF *os.File, codec byte, blockSize int) (*tableWriter, error) {
	w := &tableWriter{out: bufio.NewWriterSize(f, tableWriterBufs), idxF: idxF, idx: bufio.NewWriterSize(idxF, indexBufSize),
		codec: codec, blockSize: max(blockSize, 1)}
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
	w.write(append([]byte(snapMagic), tableVersion, codec))
	return w, w.err
}

func (w *tableWriter) write(b []byte) {
	if w.err != nil {
		return
	}
	n, err := w.out.Write(b)
	w.off += int64(n)
	w.err = err
}

// add appends an entry; removed marks a delta's removal of key (row unused).
func (w *tableWriter) add(key, row []byte, removed bool) {
	if len(w.raw) == 0 {
		w.firstKey = append(w.firstKey[:0], key...)
	}
	w.raw = binary.AppendUvarint(w.raw, uint64(len(key)))
	w.raw = append(w.raw, key...)
	if removed {
		w.raw = binary.AppendUvarint(w.raw, tagRemoved)
	} else {
		w.raw = binary.AppendUvarint(w.raw, uint64(len(row))+1)
		w.raw = append(w.raw, row...)
	}
	w.n++
	if len(w.raw) >= w.blockSize {
		w.flushBlock()
	}
}

func (w *tableWriter) flushBlock() {
	if len(w.raw) == 0 || w.err != nil {
		return
	}
	// the index entry first: it records where the block starts
	e := binary.AppendUvarint(w.vbuf[:0], uint64(len(w.firstKey)))
	e = append(e, w.firstKey...)
	e = binary.AppendUvarint(e, uint64(w.off))
	w.vbuf = e
	if _, err := w.idx.Write(e); err != nil {
		w.err = fmt.Errorf("spill index: %w", err)
		return
	}
	data := w.raw
	switch w.codec {
	case codecS2:
		w.comp = s2.Encode(w.comp[:cap(w.comp)], w.raw)
		data = w.comp
	case codecZstd:
		w.comp = w.zenc.EncodeAll(w.raw, w.comp[:0])
		data = w.comp
	}
	var hdr [blockHeaderMax]byte
	h := binary.AppendUvarint(hdr[:0], uint64(len(data)))
	h = binary.LittleEndian.AppendUint32(h, crc32.Checksum(data, crcTable))
	w.write(h)
	w.write(data)
	w.blocks++
	w.raw = w.raw[:0]
}

// finish writes the last block, the index and the footer, and flushes; the
// caller still owns (fsyncs, closes) the file.
func (w *tableWriter) finish() error {
	w.flushBlock()
	if w.err != nil {
		return w.err
	}
	if err := w.idx.Flush(); err != nil {
		return fmt.Errorf("spill index: %w", err)
	}
	indexOff := w.off
	if _, err := w.idxF.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("rewind index: %w", err)
	}
	n, err := io.Copy(w.out, w.idxF)
	if err != nil {
		return fmt.Errorf("append index: %w", err)
	}
	w.off += n
	var foot [tableFooterLen]byte
	binary.LittleEndian.PutUint64(foot[0:], uint64(indexOff))
	binary.LittleEndian.PutUint64(foot[8:], uint64(w.n))
	binary.LittleEndian.PutUint64(foot[16:], uint64(w.blocks))
	copy(foot[24:], tableEndMagic)
	w.write(foot[:])
	if w.err != nil {
		return w.err
	}
	return w.out.Flush()
}

// close releases codec resources.
func (w *tableWriter) close() {
	if w.zenc != nil {
		w.zenc.Close()
	}
}
