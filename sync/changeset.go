package sync

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os"

	"github.com/hoist-dev/hoist/sync/diff"
)

// changeset is a list of changes in key order, spilled to a temp file so
// that no run holds its changes in memory. A run writes each change it
// sends as it places it in a batch, with the batch and row it went out as,
// and reads the list back once, to commit what was acknowledged.
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
	// old is the snapshot's row of a Change, kept only for a writer that
	// patches changed fields (load.BatchNeeds.Changed); id the record ID the
	// snapshot keeps for the key, kept only for a writer that uses IDs.
	old, id []byte
	// seq and idx are the batch and the row within it the change was sent
	// as (0 where the list is not of sent changes).
	seq, idx int
}

func newChangeset(dir string) (*changeset, error) {
	f, err := os.CreateTemp(dir, "changeset-*.bin")
	if err != nil {
		return nil, fmt.Errorf("create changeset: %w", err)
	}
	return &changeset{f: f, w: bufio.NewWriterSize(f, 1<<20)}, nil
}

func (c *changeset) add(kind diff.Kind, key, row, aux []byte) error {
	return c.addSent(kind, key, row, aux, nil, nil, 0, 0)
}

// addSent records a change, with its extras (old, id), sent as row idx of
// batch seq.
func (c *changeset) addSent(kind diff.Kind, key, row, aux, old, id []byte, seq, idx int) error {
	var hdr [1 + 7*binary.MaxVarintLen64]byte
	hdr[0] = byte(kind)
	n := 1
	n += binary.PutUvarint(hdr[n:], uint64(seq))
	n += binary.PutUvarint(hdr[n:], uint64(idx))
	for _, part := range [][]byte{key, row, aux, old, id} {
		n += binary.PutUvarint(hdr[n:], uint64(len(part)))
	}
	c.w.Write(hdr[:n])
	c.w.Write(key)
	c.w.Write(row)
	c.w.Write(aux)
	c.w.Write(old)
	_, err := c.w.Write(id)
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
	var lens [7]uint64 // seq, idx, then the lengths of key, row, aux, old, id
	for i := range lens {
		if lens[i], err = binary.ReadUvarint(cr.r); err != nil {
			cr.err = fmt.Errorf("read changeset: truncated")
			return false
		}
	}
	seq, idx := lens[0], lens[1]
	kl, rl, al, ol, il := lens[2], lens[3], lens[4], lens[5], lens[6]
	n := int(kl + rl + al + ol + il)
	if cap(cr.buf) < n {
		cr.buf = make([]byte, n)
	}
	cr.buf = cr.buf[:n]
	if _, err := io.ReadFull(cr.r, cr.buf); err != nil {
		cr.err = fmt.Errorf("read changeset: %w", err)
		return false
	}
	b := cr.buf
	cr.ch = change{kind: diff.Kind(kind), key: b[:kl], row: b[kl : kl+rl], aux: b[kl+rl : kl+rl+al],
		old: b[kl+rl+al : kl+rl+al+ol], id: b[kl+rl+al+ol:], seq: int(seq), idx: int(idx)}
	if rl == 0 {
		cr.ch.row = nil
	}
	if ol == 0 {
		cr.ch.old = nil
	}
	if il == 0 {
		cr.ch.id = nil
	}
	return true
}

func (c *changeset) close() {
	name := c.f.Name()
	c.f.Close()
	os.Remove(name)
}
