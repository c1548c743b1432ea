package state

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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
//  1. write c.Delta as a new delta table, or (first commit, or time to
//     compact) a new base table merging the current ones with it, into a
//     temp file (streaming),
//  2. write the new state.json to a temp file,
//  3. rename the table to delta-<gen>.bin or snapshot-<gen>.bin (invisible:
//     nothing names it yet),
//  4. rename state.json in (the commit point),
//  5. delete the tables it no longer names.
//
// A crash before 4 leaves the old state.json naming the old, untouched
// tables; the orphan is deleted by the next commit. Before 1 and before 3
// the commit checks that its run still holds the sync's lock (checkHeld).
//
// Appending a delta costs in proportion to the change, where rewriting the
// whole snapshot costs in proportion to the table: an incremental run every
// few minutes over a large table would otherwise rewrite it every time.
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
	// a run that lost its lock fails before the work of writing tables
	if err := s.checkHeld(dir, sync); err != nil {
		return err
	}
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
	if c.Identity != nil {
		id := *c.Identity
		next.Identity = &id
	}
	next.History = make([]Run, 0, min(len(st.History)+1, maxHistory))
	next.History = append(next.History, c.Run)
	next.History = append(next.History, st.History[:min(len(st.History), maxHistory-1)]...)

	tableTmp, tableName := "", ""
	if c.Delta != nil {
		next.Generation = st.Generation + 1
		tableTmp, tableName, err = s.writeTables(ctx, dir, st, &next, c.Delta)
		if err != nil {
			return err
		}
	}
	// tables an earlier hoist wrote, kept by this commit, get their seals
	err = sealAll(dir, &next)
	if err != nil {
		if tableTmp != "" {
			os.Remove(tableTmp)
		}
		return err
	}
	stateTmp, err := s.writeStateTemp(dir, &next)
	if err != nil {
		if tableTmp != "" {
			os.Remove(tableTmp)
		}
		return err
	}
	err = ctx.Err()
	if err == nil {
		// the lock may have gone while the tables were written
		err = s.checkHeld(dir, sync)
	}
	if err != nil {
		// Last moment to back out cleanly; past here the commit completes.
		os.Remove(stateTmp)
		if tableTmp != "" {
			os.Remove(tableTmp)
		}
		return err
	}
	if tableTmp != "" {
		if err := renameDurably(tableTmp, filepath.Join(dir, tableName)); err != nil {
			os.Remove(stateTmp)
			return err
		}
	}
	crashPoint("snapshot-renamed")
	if err := renameDurably(stateTmp, filepath.Join(dir, stateFileName)); err != nil {
		return err
	}
	crashPoint("state-renamed")
	removeStale(dir, next.tableNames())
	return nil
}

// writeTables writes what delta makes of the snapshot into a temp file and
// returns it with the name it takes: a delta table on top of the current
// ones, or a new base merging them all. It sets next's snapshot fields. An
// empty delta writes nothing and returns "".
func (s *fileStore) writeTables(ctx context.Context, dir string, st, next *fileState, delta Iterator) (string, string, error) {
	v, err := openView(dir, st)
	if err != nil {
		return "", "", fmt.Errorf("open current snapshot: %w", err)
	}
	defer v.close()
	ordered := &orderedIter{it: delta}
	baseName := fmt.Sprintf("%s%d%s", snapshotPrefix, next.Generation, snapshotSuffix)
	if len(v.tables) == 0 {
		// the first snapshot is the delta itself, less its removals
		tmp, n, seal, err := s.writeTable(ctx, dir, "snapshot", func(w *tableWriter) error {
			return copyEntries(ctx, ordered, w, true)
		})
		if err != nil || n == 0 {
			if tmp != "" {
				os.Remove(tmp)
			}
			next.Generation = st.Generation
			return "", "", err
		}
		next.Snapshot, next.SnapshotSeal, next.Deltas, next.SnapshotRows = baseName, &seal, nil, n
		return tmp, baseName, nil
	}
	dtmp, dn, dseal, err := s.writeTable(ctx, dir, "delta", func(w *tableWriter) error {
		return copyEntries(ctx, ordered, w, false)
	})
	if err != nil {
		return "", "", err
	}
	if dn == 0 {
		os.Remove(dtmp)
		next.Generation = st.Generation
		return "", "", nil
	}
	t, err := openTable(dtmp)
	if err != nil {
		os.Remove(dtmp)
		return "", "", err
	}
	policy := s.compaction(st, v, dn)
	if policy == rewriteBase {
		defer os.Remove(dtmp)
		defer t.close()
		tmp, n, seal, err := s.mergeTables(ctx, dir, "snapshot", append(slices.Clone(v.tables), t), false)
		if err != nil {
			return "", "", err
		}
		next.Snapshot, next.SnapshotSeal, next.Deltas, next.SnapshotRows = baseName, &seal, nil, n
		return tmp, baseName, nil
	}
	var change int64
	if rc, ok := delta.(RowCounter); ok {
		change = rc.RowChange()
	} else if change, err = rowChange(ctx, v, t); err != nil {
		t.close()
		os.Remove(dtmp)
		return "", "", err
	}
	next.SnapshotRows = st.SnapshotRows + change
	name := fmt.Sprintf("%s%d%s", deltaPrefix, next.Generation, snapshotSuffix)
	if policy == appendDelta {
		t.close()
		next.Deltas = append(slices.Clone(st.Deltas), deltaRef{File: name, Entries: dn, tableSeal: dseal})
		return dtmp, name, nil
	}
	// mergeDeltas: one delta table replaces them all, removals kept (the
	// base may hold those keys); it costs the deltas' size, not the base's
	defer os.Remove(dtmp)
	defer t.close()
	deltas := v.tables[len(v.tables)-len(st.Deltas):]
	tmp, n, seal, err := s.mergeTables(ctx, dir, "delta", append(slices.Clone(deltas), t), true)
	if err != nil {
		return "", "", err
	}
	next.Deltas = []deltaRef{{File: name, Entries: n, tableSeal: seal}}
	return tmp, name, nil
}

// What a commit does with its delta table (see compaction).
const (
	appendDelta = iota
	mergeDeltas
	rewriteBase
)

// compaction decides what a commit whose delta table holds dn entries does
// with it. Deltas keep a commit's cost in proportion to its change, but each
// one is a table that lookups and full reads visit, so: past maxDeltas
// tables the deltas merge into one (cheap: they are small); once they hold
// more than 1/deltaShare of the rows, everything merges into a new base (the
// cost of the table, paid every few dozen small commits); a base in format
// 1 or 2 is rewritten at once. Format 3 tables stay: they read as tables
// without record IDs, and a view may mix them with format 4 ones.
func (s *fileStore) compaction(st *fileState, v *fileView, dn int64) int {
	for _, t := range v.tables {
		if t.version < tableVersion3 {
			return rewriteBase
		}
	}
	switch {
	case st.Snapshot == "" || (st.deltaEntries()+dn)*s.deltaShare > st.SnapshotRows:
		return rewriteBase
	case len(st.Deltas)+1 > s.maxDeltas:
		return mergeDeltas
	}
	return appendDelta
}

// mergeTables writes the merge of tables (oldest first) into a temp table;
// keepRemoved keeps removals (for a delta table), else they are dropped.
func (s *fileStore) mergeTables(ctx context.Context, dir, kind string, tables []*tableFile, keepRemoved bool) (string, int64, tableSeal, error) {
	vs, err := (&fileView{tables: tables}).scan(ctx)
	if err != nil {
		return "", 0, tableSeal{}, fmt.Errorf("read current snapshot: %w", err)
	}
	vs.keepRemoved = keepRemoved
	defer vs.closeIters()
	return s.writeTable(ctx, dir, kind, func(w *tableWriter) error {
		return copyEntries(ctx, vs, w, !keepRemoved)
	})
}

// rowChange is how many rows the delta table t adds to the view, less those
// it removes: it looks each of its keys up in the view.
func rowChange(ctx context.Context, v *fileView, t *tableFile) (int64, error) {
	it, err := t.scan(ctx)
	if err != nil {
		return 0, err
	}
	defer it.close()
	l, err := v.lookup(ctx)
	if err != nil {
		return 0, err
	}
	defer l.Close()
	var change int64
	for it.next() {
		_, _, present, err := find(l.seekers, it.key())
		if err != nil {
			return 0, fmt.Errorf("read current snapshot: %w", err)
		}
		switch {
		case it.removed() && present:
			change--
		case !it.removed() && !present:
			change++
		}
	}
	return change, it.err()
}

// writeTable writes a table with fill into a durable temp file and returns
// its path, entry count and seal.
func (s *fileStore) writeTable(ctx context.Context, dir, kind string, fill func(*tableWriter) error) (string, int64, tableSeal, error) {
	f, err := s.createTemp(dir, kind)
	if err != nil {
		return "", 0, tableSeal{}, err
	}
	fail := func(err error) (string, int64, tableSeal, error) {
		f.Close()
		os.Remove(f.Name())
		return "", 0, tableSeal{}, err
	}
	idx, err := s.createTemp(dir, "index")
	if err != nil {
		return fail(err)
	}
	defer func() {
		idx.Close()
		os.Remove(idx.Name())
	}()
	w, err := newTableWriter(f, idx, s.codec, s.blockSize)
	if err != nil {
		return fail(fileErr("write", f.Name(), err))
	}
	err = fill(w)
	if err == nil {
		if err = w.finish(); err != nil {
			err = fileErr("write", f.Name(), err)
		}
	}
	w.close() // its goroutine is done with f before f is closed
	if err != nil {
		return fail(err)
	}
	if err := closeDurably(f); err != nil {
		os.Remove(f.Name())
		return "", 0, tableSeal{}, err
	}
	return f.Name(), w.n, w.seal(), nil
}

// copyEntries writes it into w; a nil Row is a removal, kept in a delta
// table and dropped from a base (dropRemoved).
func copyEntries(ctx context.Context, it Iterator, w *tableWriter, dropRemoved bool) error {
	for n := 0; it.Next(); n++ {
		if n%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := w.failed(); err != nil { // disk full: stop early, not at the end
				return err
			}
		}
		e := it.Entry()
		if e.Row == nil {
			if !dropRemoved {
				w.add(e.Key, nil, nil, true)
			}
			continue
		}
		w.add(e.Key, e.Row, e.ID, false)
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("read delta: %w", err)
	}
	return nil
}

// orderedIter passes a delta through, failing it if its keys are not
// strictly ascending: that is a bug upstream that would silently corrupt
// the snapshot, so it stops the commit.
type orderedIter struct {
	it       Iterator
	prev     []byte
	havePrev bool
	err      error
}

func (o *orderedIter) Next() bool {
	if o.err != nil || !o.it.Next() {
		return false
	}
	k := o.it.Entry().Key
	if o.havePrev && bytes.Compare(k, o.prev) <= 0 {
		o.err = fmt.Errorf("delta keys out of order: %q after %q", k, o.prev)
		return false
	}
	o.prev, o.havePrev = append(o.prev[:0], k...), true
	return true
}

func (o *orderedIter) Entry() Entry { return o.it.Entry() }
func (o *orderedIter) Close() error { return o.it.Close() }
func (o *orderedIter) Err() error {
	if o.err != nil {
		return o.err
	}
	return o.it.Err()
}
