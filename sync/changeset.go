package sync

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os"

	"github.com/hoist-dev/hoist/sync/diff"
)

// changeset is the run's list of changes to send, in key order, spilled to a
// temp file so that a 10M-row first sync holds no rows in memory. It is read
// twice: once to build batches, once to commit what was acknowledged.
type changeset struct {
	f     *os.File
	w     *bufio.Writer
	count int64
}

type change struct {
	kind diff.Kind
	key  []byte
	row  []byte // the new row (nil for Remove)
	aux  []byte // the row's cursor text, if the sync has a cursor
}

func newChangeset(dir string) (*changeset, error) {
	f, err := os.CreateTemp(dir, "changeset-*.bin")
	if err != nil {
		return nil, fmt.Errorf("create changeset: %w", err)
	}
	return &changeset{f: f, w: bufio.NewWriterSize(f, 1<<20)}, nil
}

func (c *changeset) add(kind diff.Kind, key, row, aux []byte) error {
	var hdr [1 + 3*binary.MaxVarintLen64]byte
	hdr[0] = byte(kind)
	n := 1
	n += binary.PutUvarint(hdr[n:], uint64(len(key)))
	n += binary.PutUvarint(hdr[n:], uint64(len(row)))
	n += binary.PutUvarint(hdr[n:], uint64(len(aux)))
	c.w.Write(hdr[:n])
	c.w.Write(key)
	c.w.Write(row)
	_, err := c.w.Write(aux)
	c.count++
	return err
}

// reader replays the changes in order; one reader at a time.
func (c *changeset) reader() (*changesetReader, error) {
	if err := c.w.Flush(); err != nil {
		return nil, fmt.Errorf("write changeset: %w", err)
	}
	if _, err := c.f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("read changeset: %w", err)
	}
	return &changesetReader{r: bufio.NewReaderSize(c.f, 1<<20)}, nil
}

type changesetReader struct {
	r   *bufio.Reader
	buf []byte
	ch  change
	err error
}

func (cr *changesetReader) next() bool {
	kind, err := cr.r.ReadByte()
	if err == io.EOF {
		return false
	}
	if err != nil {
		cr.err = fmt.Errorf("read changeset: %w", err)
		return false
	}
	kl, err1 := binary.ReadUvarint(cr.r)
	rl, err2 := binary.ReadUvarint(cr.r)
	al, err3 := binary.ReadUvarint(cr.r)
	if err1 != nil || err2 != nil || err3 != nil {
		cr.err = fmt.Errorf("read changeset: truncated")
		return false
	}
	n := int(kl + rl + al)
	if cap(cr.buf) < n {
		cr.buf = make([]byte, n)
	}
	cr.buf = cr.buf[:n]
	if _, err := io.ReadFull(cr.r, cr.buf); err != nil {
		cr.err = fmt.Errorf("read changeset: %w", err)
		return false
	}
	cr.ch = change{kind: diff.Kind(kind), key: cr.buf[:kl], row: cr.buf[kl : kl+rl], aux: cr.buf[kl+rl:]}
	if rl == 0 {
		cr.ch.row = nil
	}
	return true
}

func (c *changeset) close() {
	name := c.f.Name()
	c.f.Close()
	os.Remove(name)
}
