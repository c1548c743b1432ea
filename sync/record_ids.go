package sync

import (
	"encoding/binary"
	"fmt"
	"maps"
	"os"
	"path/filepath"
)

// idSpill keeps the record IDs writers learnt during a run (load.Result.IDs)
// in a file of the run's temp folder until the commit writes them into the
// state: held in memory they cost about 90 bytes a row, so a 10M-row first
// load into a CRM would hold most of a gigabyte of IDs. What stays in
// memory is one span per batch and the few batches the commit is reading.
//
// The file is append-only: a batch's IDs are written once, when it is
// answered, and bookkeeping saved before a joint commit restores by putting
// back the span map (what was appended since is never read).
type idSpill struct {
	dir   string
	f     *os.File
	end   int64
	spans map[int]idSpan // batch seq → where its IDs are
	// cache: the batches the commit read last. The commit walks the
	// changes in key order, in which batches of one kind (inserts,
	// updates, deletes) follow each other, so a handful of batches at a
	// time serve it with each batch read once.
	cache []cachedIDs
}

type idSpan struct {
	off int64
	n   int32 // bytes
}

type cachedIDs struct {
	seq int
	ids []string
}

// idCacheBatches is how many batches' IDs the commit keeps decoded: one per
// kind of batch that can be open at a key, and some slack.
const idCacheBatches = 8

func newIDSpill(dir string) *idSpill { return &idSpill{dir: dir, spans: map[int]idSpan{}} }

// keep appends batch seq's IDs.
func (s *idSpill) keep(seq int, ids []string) error {
	if s.f == nil {
		f, err := os.CreateTemp(s.dir, "ids-*")
		if err != nil {
			return fmt.Errorf("record IDs: %w", err)
		}
		s.f = f
	}
	var b []byte
	b = binary.AppendUvarint(b, uint64(len(ids)))
	for _, id := range ids {
		b = binary.AppendUvarint(b, uint64(len(id)))
		b = append(b, id...)
	}
	if _, err := s.f.WriteAt(b, s.end); err != nil {
		return fmt.Errorf("record IDs: write %s: %w", filepath.Base(s.f.Name()), err)
	}
	s.spans[seq] = idSpan{off: s.end, n: int32(len(b))}
	s.end += int64(len(b))
	// a batch answered again (a retried joint commit) replaces its IDs
	s.drop(seq)
	return nil
}

// get returns the ID learnt for row of batch seq, "" when none was.
func (s *idSpill) get(seq, row int) (string, error) {
	ids, err := s.batch(seq)
	if err != nil || row >= len(ids) {
		return "", err
	}
	return ids[row], nil
}

func (s *idSpill) batch(seq int) ([]string, error) {
	for _, c := range s.cache {
		if c.seq == seq {
			return c.ids, nil
		}
	}
	sp, ok := s.spans[seq]
	if !ok {
		return nil, nil
	}
	b := make([]byte, sp.n)
	if _, err := s.f.ReadAt(b, sp.off); err != nil {
		return nil, fmt.Errorf("record IDs: read %s: %w", filepath.Base(s.f.Name()), err)
	}
	n, k := binary.Uvarint(b)
	if k <= 0 {
		return nil, fmt.Errorf("record IDs of batch %d: corrupt count", seq)
	}
	ids := make([]string, 0, n)
	for b = b[k:]; uint64(len(ids)) < n; {
		l, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < l {
			return nil, fmt.Errorf("record IDs of batch %d: corrupt entry %d", seq, len(ids))
		}
		ids = append(ids, string(b[k:k+int(l)]))
		b = b[k+int(l):]
	}
	if len(s.cache) == idCacheBatches {
		s.cache = s.cache[1:]
	}
	s.cache = append(s.cache, cachedIDs{seq, ids})
	return ids, nil
}

func (s *idSpill) drop(seq int) {
	for i, c := range s.cache {
		if c.seq == seq {
			s.cache = append(s.cache[:i], s.cache[i+1:]...)
			return
		}
	}
}

// saveSpans and restoreSpans are the spill's part of the load stage's
// bookkeeping (stage_commit.go).
func (s *idSpill) saveSpans() map[int]idSpan {
	return maps.Clone(s.spans)
}

func (s *idSpill) restoreSpans(m map[int]idSpan) {
	s.spans = m
	s.cache = nil
}

// close removes the file (the run's temp folder goes too, but a run keeps
// it until the sync ends).
func (s *idSpill) close() {
	if s.f != nil {
		name := s.f.Name()
		s.f.Close()
		os.Remove(name)
		s.f = nil
	}
}
