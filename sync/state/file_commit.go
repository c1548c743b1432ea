package state

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// crashHook, when set (only by the crash test's helper process), is called at
// named points of a commit so the test can kill the process there.
var crashHook func(stage string)

func crashPoint(stage string) {
	if crashHook != nil {
		crashHook(stage)
	}
}

// Commit implements Store. Order of work, each step durable before the next:
//  1. merge the current snapshot with c.Delta into a temp file (streaming),
//  2. write the new state.json to a temp file,
//  3. rename the snapshot to snapshot-<gen+1>.bin (invisible: nothing names it),
//  4. rename state.json in (the commit point),
//  5. delete older generations.
//
// A crash before 4 leaves the old state.json naming the old, untouched
// snapshot; the orphan is deleted by the next commit.
func (s *fileStore) Commit(ctx context.Context, sync string, c *Commit) error {
	if c == nil {
		return fmt.Errorf("commit sync %s: nil commit", sync)
	}
	dir, err := s.ensureDir(sync)
	if err != nil {
		return fmt.Errorf("commit sync %s: %w", sync, err)
	}
	unlock, err := s.commitLock(ctx, dir)
	if err != nil {
		return fmt.Errorf("commit sync %s: %w", sync, err)
	}
	defer unlock()
	if err := s.commitLocked(ctx, dir, sync, c); err != nil {
		return fmt.Errorf("commit sync %s: %w", sync, err)
	}
	return nil
}

func (s *fileStore) commitLocked(ctx context.Context, dir, sync string, c *Commit) error {
	st, err := readState(dir, sync)
	if err != nil {
		return err
	}
	next := *st
	next.Format, next.UpdatedAt = stateFormat, time.Now().UTC()
	if c.Cursor != nil {
		cur := *c.Cursor
		next.Cursor = &cur
	}
	next.History = make([]Run, 0, min(len(st.History)+1, maxHistory))
	next.History = append(next.History, c.Run)
	next.History = append(next.History, st.History[:min(len(st.History), maxHistory-1)]...)

	snapTmp := ""
	if c.Delta != nil {
		next.Generation = st.Generation + 1
		next.Snapshot = fmt.Sprintf("%s%d%s", snapshotPrefix, next.Generation, snapshotSuffix)
		snapTmp, next.SnapshotRows, err = s.writeMerged(ctx, dir, st, c.Delta)
		if err != nil {
			return err
		}
	}
	stateTmp, err := s.writeStateTemp(dir, &next)
	if err != nil {
		if snapTmp != "" {
			os.Remove(snapTmp)
		}
		return err
	}
	if err := ctx.Err(); err != nil {
		// Last moment to back out cleanly; past here the commit completes.
		os.Remove(stateTmp)
		if snapTmp != "" {
			os.Remove(snapTmp)
		}
		return err
	}
	if snapTmp != "" {
		if err := renameDurably(snapTmp, filepath.Join(dir, next.Snapshot)); err != nil {
			os.Remove(stateTmp)
			return err
		}
	}
	crashPoint("snapshot-renamed")
	if err := renameDurably(stateTmp, filepath.Join(dir, stateFileName)); err != nil {
		return err
	}
	removeStale(dir, next.Snapshot)
	return nil
}

// writeMerged streams the current snapshot merged with delta into a durable
// temp file and returns its path and entry count.
func (s *fileStore) writeMerged(ctx context.Context, dir string, st *fileState, delta Iterator) (string, int64, error) {
	var old Iterator = &SliceIterator{}
	if st.Snapshot != "" {
		r, err := openSnapFile(ctx, filepath.Join(dir, st.Snapshot))
		if err != nil {
			return "", 0, fmt.Errorf("open current snapshot: %w", err)
		}
		defer r.Close()
		old = r
	}
	f, err := s.createTemp(dir, "snapshot")
	if err != nil {
		return "", 0, err
	}
	fail := func(err error) (string, int64, error) {
		f.Close()
		os.Remove(f.Name())
		return "", 0, err
	}
	w, err := newSnapWriter(f, s.codec)
	if err != nil {
		return fail(fmt.Errorf("write %s: %w", f.Name(), err))
	}
	if err := mergeSnapshot(ctx, old, delta, w); err != nil {
		w.abort()
		return fail(err)
	}
	if err := w.finish(); err != nil {
		return fail(fmt.Errorf("write %s: %w", f.Name(), err))
	}
	if err := closeDurably(f); err != nil {
		os.Remove(f.Name())
		return "", 0, err
	}
	return f.Name(), w.n, nil
}

// mergeSnapshot writes old with delta applied to w, streaming both sides: a
// delta Row replaces or adds its key, a nil Row removes it (absent keys are
// fine). The delta must be strictly ascending; a violation is a bug upstream
// that would silently corrupt the snapshot, so it stops the commit.
func mergeSnapshot(ctx context.Context, old, delta Iterator, w *snapWriter) error {
	var prev []byte
	first := true
	nextDelta := func() (bool, error) {
		if !first {
			prev = append(prev[:0], delta.Entry().Key...)
		}
		if !delta.Next() {
			return false, nil
		}
		if !first && bytes.Compare(delta.Entry().Key, prev) <= 0 {
			return false, fmt.Errorf("delta keys out of order: %q after %q", delta.Entry().Key, prev)
		}
		first = false
		return true, nil
	}
	oOK := old.Next()
	dOK, err := nextDelta()
	for n := 0; err == nil && (oOK || dOK); n++ {
		if n%ctxCheckEvery == 0 {
			if err = ctx.Err(); err != nil {
				break
			}
			if err = w.err; err != nil { // disk full: stop early, not at the end
				break
			}
		}
		c := -1 // old only
		if !oOK {
			c = 1 // delta only
		} else if dOK {
			c = bytes.Compare(old.Entry().Key, delta.Entry().Key)
		}
		if c < 0 {
			o := old.Entry()
			w.add(o.Key, o.Row)
			oOK = old.Next()
			continue
		}
		if d := delta.Entry(); d.Row != nil {
			w.add(d.Key, d.Row)
		}
		if c == 0 {
			oOK = old.Next()
		}
		dOK, err = nextDelta()
	}
	if err != nil {
		return err
	}
	if e := old.Err(); e != nil {
		return fmt.Errorf("read current snapshot: %w", e)
	}
	if e := delta.Err(); e != nil {
		return fmt.Errorf("read delta: %w", e)
	}
	return nil
}
