package state

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
)

// fileView is one committed snapshot of a sync: the base table and the
// delta tables committed after it, oldest first. A later table's entry for a
// key overrides an earlier one's; a removal hides the key.
type fileView struct {
	tables []*tableFile
}

// openView opens the tables st names and checks each against its seal. A
// file that is missing means a commit replaced st meanwhile (the caller
// reads state.json again); one that fails its seal is an error.
func openView(dir string, st *fileState) (*fileView, error) {
	v := &fileView{}
	for _, r := range st.tableRefs() {
		t, err := openTable(filepath.Join(dir, r.name))
		if err != nil {
			v.close()
			return nil, err
		}
		v.tables = append(v.tables, t)
		if !r.seal.sealed() {
			continue // written by an earlier hoist (readState checked)
		}
		if err := t.checkSeal(r.seal); err != nil {
			v.close()
			return nil, damaged(filepath.Join(dir, stateFileName), st.Sync, "%v", err)
		}
	}
	return v, nil
}

func (v *fileView) close() {
	for _, t := range v.tables {
		t.close()
	}
	v.tables = nil
}

// openCurrentView reads state.json and opens what it names, again if a
// commit swapped the files in between (they are immutable once named, so
// an open file is never changed under a reader).
func (s *fileStore) openCurrentView(ctx context.Context, sync string) (*fileView, error) {
	dir, err := s.readDir(sync)
	if err != nil {
		return nil, err
	}
	var prev []string
	for range snapshotRetries {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		st, err := readState(dir, sync)
		if err != nil {
			return nil, err
		}
		v, err := openView(dir, st)
		if err == nil {
			return v, nil
		}
		names := st.tableNames()
		if !errors.Is(err, fs.ErrNotExist) || slices.Equal(names, prev) {
			// The same names twice: the file is really gone, not replaced.
			return nil, err
		}
		prev = names
	}
	return nil, fmt.Errorf("it changed %d times while opening; try again", snapshotRetries)
}

// scan merges the tables into one Iterator of live entries in key order.
func (v *fileView) scan(ctx context.Context) (*viewScan, error) {
	vs := &viewScan{v: v}
	for _, t := range v.tables {
		it, err := t.scan(ctx)
		if err != nil {
			vs.closeIters()
			return nil, err
		}
		vs.its = append(vs.its, it)
		vs.ok = append(vs.ok, false)
	}
	for i := range vs.its {
		if !vs.step(i) {
			err := vs.err
			vs.closeIters()
			return nil, err
		}
	}
	return vs, nil
}

// viewScan is the k-way merge of a view's tables; k is small (at most
// maxDeltas+1), so a linear pick of the smallest key beats a heap.
type viewScan struct {
	v    *fileView
	its  []tableIter
	ok   []bool
	e    Entry
	err  error
	key  []byte
	lag  int  // 1 + the table to step before the next key (its row is out)
	own  bool // Close closes the view too
	done bool
	// keepRemoved yields removals (Row nil), for merging delta tables
	keepRemoved bool
}

var _ Iterator = (*viewScan)(nil)

// step advances table i; a table that stops on an error stops the merge,
// so a damaged file never passes for a shorter snapshot.
func (vs *viewScan) step(i int) bool {
	vs.ok[i] = vs.its[i].next()
	if !vs.ok[i] {
		if err := vs.its[i].err(); err != nil {
			vs.err = err
			return false
		}
	}
	return true
}

func (vs *viewScan) Next() bool {
	if vs.done || vs.err != nil {
		return false
	}
	if vs.lag > 0 {
		i := vs.lag - 1
		vs.lag = 0
		if !vs.step(i) {
			return false
		}
	}
	for {
		win := -1
		for i, it := range vs.its {
			// a tie goes to the later table: it was committed after
			if vs.ok[i] && (win < 0 || bytes.Compare(it.key(), vs.its[win].key()) <= 0) {
				win = i
			}
		}
		if win < 0 {
			vs.done = true
			return false
		}
		w := vs.its[win]
		vs.key = append(vs.key[:0], w.key()...)
		for i, it := range vs.its {
			if i != win && vs.ok[i] && bytes.Equal(it.key(), vs.key) && !vs.step(i) {
				return false
			}
		}
		if w.removed() && !vs.keepRemoved {
			if !vs.step(win) {
				return false
			}
			continue
		}
		vs.e = Entry{Key: vs.key, Row: w.row(), ID: w.id()}
		if w.removed() {
			vs.e.Row, vs.e.ID = nil, nil
		}
		vs.lag = win + 1
		return true
	}
}

func (vs *viewScan) Entry() Entry { return vs.e }
func (vs *viewScan) Err() error   { return vs.err }

func (vs *viewScan) closeIters() {
	for _, it := range vs.its {
		it.close()
	}
	vs.its = nil
}

func (vs *viewScan) Close() error {
	vs.closeIters()
	if vs.own {
		vs.v.close()
	}
	return nil
}

// lookup finds chosen keys in the view.
func (v *fileView) lookup(ctx context.Context) (*viewLookup, error) {
	l := &viewLookup{v: v, ctx: ctx, split: v.indexed()}
	var err error
	if l.seekers, err = v.seekers(ctx); err != nil {
		return nil, err
	}
	return l, nil
}

// seekers opens a seeker on each of the view's tables, oldest first.
func (v *fileView) seekers(ctx context.Context) ([]tableSeeker, error) {
	var out []tableSeeker
	for _, t := range v.tables {
		sk, err := t.seeker(ctx)
		if err != nil {
			closeSeekers(out)
			return nil, err
		}
		out = append(out, sk)
	}
	return out, nil
}

// indexed reports whether every table of the view has a block index, so a
// second set of seekers reads only the blocks it needs (a format 1 table
// is scanned from its start by each).
func (v *fileView) indexed() bool {
	for _, t := range v.tables {
		if t.version == snapVersion {
			return false
		}
	}
	return true
}

// splitLookupKeys is the number of keys from which a Get finds the second
// half of them on a second set of seekers, at the same time as the first.
// A lookup decodes about a block per key it finds (4–5 µs a key: 1% of a
// 2M-row snapshot took 0.1 s of one core, bench-postgres), and an
// incremental run's destination waits for it before its first batch;
// below a few thousand keys a goroutine and a second set of seekers cost
// more than they save.
const splitLookupKeys = 2048

// viewLookup finds keys in a view, the newest table first: the first table
// that holds a key decides it.
type viewLookup struct {
	v       *fileView
	ctx     context.Context
	seekers []tableSeeker
	split   bool          // long Gets may split (every table is indexed)
	second  []tableSeeker // for the second half of a long Get; nil until one
	// the second half's entries and their copied bytes, reused by each Get
	// (an Entry is valid only during its fn call)
	later []Entry
	arena []byte
	own   bool // Close closes the view too
}

var _ Lookup = (*viewLookup)(nil)

// find returns key's live row and record ID in the tables of seekers; ok is
// false if the view lacks the key or a delta removed it. Keys must ascend
// across the calls on one set of seekers.
func find(seekers []tableSeeker, key []byte) (row, id []byte, ok bool, err error) {
	for i := len(seekers) - 1; i >= 0; i-- {
		sk := seekers[i]
		if sk.seekGE(key) && bytes.Equal(sk.key(), key) {
			if sk.removed() {
				return nil, nil, false, nil
			}
			return sk.row(), sk.id(), true, nil
		}
		if err := sk.err(); err != nil {
			return nil, nil, false, err
		}
	}
	return nil, nil, false, nil
}

// Get implements Lookup. Of a long list of keys, the second half is found
// on a second set of seekers in a goroutine while the first half is, and
// its entries reach fn after the first half's, in key order. Each set sees
// its keys ascend across Gets, as seekers need: a set only ever takes the
// same half of ascending lists.
func (l *viewLookup) Get(ctx context.Context, keys [][]byte, fn func(Entry) error) error {
	if len(keys) < splitLookupKeys || !l.split {
		return get(ctx, l.seekers, keys, fn)
	}
	if l.second == nil {
		var err error
		if l.second, err = l.v.seekers(l.ctx); err != nil {
			return err
		}
	}
	half := len(keys) / 2
	l.later, l.arena = l.later[:0], l.arena[:0]
	done := make(chan error, 1)
	go func() {
		done <- get(ctx, l.second, keys[half:], func(e Entry) error {
			// a seeker's buffers move on with its next block: keep a copy
			from := len(l.arena)
			l.arena = append(l.arena, e.Row...)
			l.arena = append(l.arena, e.ID...)
			l.later = append(l.later, Entry{Key: e.Key, Row: l.arena[from : from+len(e.Row) : from+len(e.Row)], ID: l.arena[from+len(e.Row) : len(l.arena) : len(l.arena)]})
			return nil
		})
	}()
	err := get(ctx, l.seekers, keys[:half], fn)
	if err2 := <-done; err == nil {
		err = err2
	}
	if err != nil {
		return err
	}
	for _, e := range l.later {
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// get finds keys on one set of seekers, handing fn each one found.
func get(ctx context.Context, seekers []tableSeeker, keys [][]byte, fn func(Entry) error) error {
	for i, k := range keys {
		if i%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		row, id, ok, err := find(seekers, k)
		if err != nil {
			return err
		}
		if ok {
			if err := fn(Entry{Key: k, Row: row, ID: id}); err != nil {
				return err
			}
		}
	}
	return nil
}

func closeSeekers(seekers []tableSeeker) {
	for _, sk := range seekers {
		sk.close()
	}
}

func (l *viewLookup) closeSeekers() {
	closeSeekers(l.seekers)
	closeSeekers(l.second)
	l.seekers, l.second = nil, nil
}

// Close implements Lookup.
func (l *viewLookup) Close() error {
	l.closeSeekers()
	if l.own {
		l.v.close()
	}
	return nil
}
