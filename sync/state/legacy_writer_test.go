package state

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
)

// The format 1 writer, kept for tests: state folders written by an earlier
// hoist must still read.

// snapWriter streams entries into a snapshot file.
type snapWriter struct {
	comp io.WriteCloser // nil for codecNone
	bw   *bufio.Writer
	n    int64
	err  error // first write error, so a long merge can stop early
	vbuf [binary.MaxVarintLen64]byte
}

func newSnapWriter(f io.Writer, codec byte) (*snapWriter, error) {
	if _, err := f.Write(append([]byte(snapMagic), snapVersion, codec)); err != nil {
		return nil, err
	}
	w := &snapWriter{}
	var dst io.Writer = f
	switch codec {
	case codecNone:
	case codecZstd:
		enc, err := zstd.NewWriter(f, zstd.WithEncoderLevel(zstd.SpeedFastest))
		if err != nil {
			return nil, err
		}
		w.comp, dst = enc, enc
	case codecS2:
		enc := s2.NewWriter(f)
		w.comp, dst = enc, enc
	default:
		return nil, fmt.Errorf("unknown snapshot codec %d", codec)
	}
	w.bw = bufio.NewWriterSize(dst, snapBufSize)
	return w, nil
}

func (w *snapWriter) write(b []byte) {
	if _, err := w.bw.Write(b); err != nil && w.err == nil {
		w.err = err
	}
}

func (w *snapWriter) uvarint(v uint64) {
	n := binary.PutUvarint(w.vbuf[:], v)
	w.write(w.vbuf[:n])
}

func (w *snapWriter) add(key, row []byte) {
	w.uvarint(uint64(len(key)) + 1)
	w.write(key)
	w.uvarint(uint64(len(row)))
	w.write(row)
	w.n++
}

// finish writes the end marker and trailer and flushes the codec; the caller
// still owns (fsyncs, closes) the file.
func (w *snapWriter) finish() error {
	w.uvarint(0)
	var cnt [8]byte
	binary.LittleEndian.PutUint64(cnt[:], uint64(w.n))
	w.write(cnt[:])
	if w.err != nil {
		return w.err
	}
	if err := w.bw.Flush(); err != nil {
		return err
	}
	if w.comp != nil {
		return w.comp.Close()
	}
	return nil
}

// abort releases codec resources after a failure (the temp file is removed
// by the caller).
func (w *snapWriter) abort() {
	if w.comp != nil {
		w.comp.Close()
	}
}
