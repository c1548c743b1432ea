package state

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
)

// Snapshot file format 1, written by hoist before table files (format 2,
// table_write.go) and still read, in key order only:
//
//	header   "HOISTSNP" | version byte (1) | codec byte        (uncompressed)
//	body     codec stream of:
//	           entry*   uvarint(len(key)+1) key uvarint(len(row)) row
//	           end      uvarint(0)
//	           trailer  uint64 LE entry count
//
// Entries are in strictly ascending bytes.Compare order of key. The end marker
// and count detect a truncated file even with codecNone; zstd and s2 add their
// own content checksums (verified when the reader reaches the end of the stream).
const (
	snapMagic   = "HOISTSNP"
	snapVersion = 1

	codecNone byte = 0
	codecZstd byte = 1
	codecS2   byte = 2

	// defaultCodec was chosen by BenchmarkCompaction (a rewrite of 2M
	// entries) and BenchmarkTableLookup: see their comments. Full reads and
	// rewrites are the slow paths, so decoding speed wins over file size.
	defaultCodec = codecS2

	// maxEntryPart bounds a key or row length read from disk so a corrupt
	// length prefix fails cleanly instead of attempting a huge allocation.
	maxEntryPart = 1 << 30

	// ctxCheckEvery is how many entries pass between context checks in long
	// loops; checking every entry would cost more than the copy itself.
	ctxCheckEvery = 4096

	snapBufSize = 256 << 10
)

var errSnapTruncated = errors.New("truncated (no end marker)")

// snapReader iterates a snapshot file. It holds the file open, so a commit
// that deletes the file meanwhile does not disturb it (on Unix).
type snapReader struct {
	ctx  context.Context
	path string
	dec  *zstd.Decoder // for Close; nil unless codecZstd
	br   *bufio.Reader
	key  []byte
	row  []byte
	n    int64
	done bool
	err  error
}

var _ Iterator = (*snapReader)(nil)

// newSnapReader reads a format 1 stream from f, which the caller owns.
func newSnapReader(ctx context.Context, path string, f io.Reader) (*snapReader, error) {
	var hdr [len(snapMagic) + 2]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil {
		return nil, fmt.Errorf("snapshot %s: read header: %w", path, err)
	}
	if !bytes.Equal(hdr[:len(snapMagic)], []byte(snapMagic)) {
		return nil, fmt.Errorf("snapshot %s: not a hoist snapshot file", path)
	}
	if v := hdr[len(snapMagic)]; v != snapVersion {
		return nil, fmt.Errorf("snapshot %s: format version %d is not supported (want %d)", path, v, snapVersion)
	}
	r := &snapReader{ctx: ctx, path: path}
	var src io.Reader = f
	switch codec := hdr[len(snapMagic)+1]; codec {
	case codecNone:
	case codecZstd:
		// One decoding goroutine: the merge is sequential anyway and the
		// machine is shared with the loaders.
		dec, err := zstd.NewReader(f, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
		if err != nil {
			return nil, fmt.Errorf("snapshot %s: %w", path, err)
		}
		r.dec, src = dec, dec
	case codecS2:
		src = s2.NewReader(f)
	default:
		return nil, fmt.Errorf("snapshot %s: unknown codec %d", path, codec)
	}
	r.br = bufio.NewReaderSize(src, snapBufSize)
	return r, nil
}

// Next implements Iterator.
func (r *snapReader) Next() bool {
	if r.done || r.err != nil {
		return false
	}
	if r.n%ctxCheckEvery == 0 {
		if err := r.ctx.Err(); err != nil {
			r.err = err
			return false
		}
	}
	kl, err := binary.ReadUvarint(r.br)
	if err != nil {
		r.fail(err)
		return false
	}
	if kl == 0 {
		r.readTrailer()
		return false
	}
	if r.key, err = r.readPart(r.key, kl-1); err != nil {
		r.fail(err)
		return false
	}
	rl, err := binary.ReadUvarint(r.br)
	if err != nil {
		r.fail(err)
		return false
	}
	if r.row, err = r.readPart(r.row, rl); err != nil {
		r.fail(err)
		return false
	}
	r.n++
	return true
}

func (r *snapReader) readPart(buf []byte, n uint64) ([]byte, error) {
	if n > maxEntryPart {
		return buf, fmt.Errorf("entry %d: length %d is implausible (corrupt file)", r.n, n)
	}
	if buf == nil || uint64(cap(buf)) < n {
		// Never nil, even when empty: a nil Row means "remove" in a delta.
		buf = make([]byte, n, max(n, 64))
	}
	buf = buf[:n]
	_, err := io.ReadFull(r.br, buf)
	return buf, err
}

func (r *snapReader) readTrailer() {
	var cnt [8]byte
	if _, err := io.ReadFull(r.br, cnt[:]); err != nil {
		r.fail(err)
		return
	}
	if got := binary.LittleEndian.Uint64(cnt[:]); got != uint64(r.n) {
		r.err = fmt.Errorf("snapshot %s: trailer says %d entries, read %d (corrupt file)", r.path, got, r.n)
		return
	}
	// Reading to EOF makes the codec verify its final checksum.
	if _, err := r.br.ReadByte(); err != io.EOF {
		if err == nil {
			err = errors.New("data after the end marker")
		}
		r.err = fmt.Errorf("snapshot %s: %w", r.path, err)
		return
	}
	r.done = true
}

func (r *snapReader) fail(err error) {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		err = errSnapTruncated
	}
	r.err = fmt.Errorf("snapshot %s after %d entries: %w", r.path, r.n, err)
}

// Entry implements Iterator.
func (r *snapReader) Entry() Entry { return Entry{Key: r.key, Row: r.row} }

// Err implements Iterator.
func (r *snapReader) Err() error { return r.err }

// Close implements Iterator: it releases the decoder (the caller owns the
// file).
func (r *snapReader) Close() error {
	if r.dec != nil {
		r.dec.Close()
		r.dec = nil
	}
	return nil
}
