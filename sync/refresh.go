package sync

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/hoist-dev/hoist/extract"
	"github.com/hoist-dev/hoist/internal/shard"
	"github.com/hoist-dev/hoist/mappings"
	"github.com/hoist-dev/hoist/sync/diff"
	"github.com/hoist-dev/hoist/sync/spec"
	"github.com/hoist-dev/hoist/sync/state"
)

// --refresh diffs the source against what the destination actually holds
// instead of the snapshot: the destination's object is read back through the
// source connector of the same connection (extract.ObjectReader), cast to the
// mapped schema so that every value encodes exactly as the mapped source
// value it was written from, sorted by key like the extract, and handed to
// the merge in the snapshot's place. After run --refresh the state commit
// makes the snapshot equal to that view with the run's acknowledged changes
// applied (refreshCommit).

// readsAll reports whether the run reads the whole source, ignoring the
// cursor: --full-refresh, and --refresh (the destination is compared with
// the full source).
func (r *Runner) readsAll() bool { return r.Opt.FullRefresh || r.Opt.Refresh }

// baseRows is what a mirror's mass-delete guard compares removals with: the
// snapshot's size, or with --refresh the destination's.
func (r *Runner) baseRows(st *state.SyncState, res *diffResult) int64 {
	switch {
	case r.Opt.Refresh:
		return res.destRows
	case res.wh:
		return res.whRows
	}
	return st.SnapshotRows
}

// refreshNoop is the warning for a mode --refresh does not apply to: append
// and replace do not diff, so there is no drift to compute (replace rewrites
// the whole object every run anyway). "" for the keyed modes.
func (r *Runner) refreshNoop(s *spec.Sync) string {
	if !r.Opt.Refresh || ModeOf(s.Destination.Mode).Keyed {
		return ""
	}
	return fmt.Sprintf("--refresh has no effect in mode %s: it sends rows without a diff against the destination", s.Destination.Mode)
}

// errRefreshUnsupported names a destination that cannot be read back.
func errRefreshUnsupported(conn *spec.Connection) error {
	return fmt.Errorf("--refresh is not supported for destination %s (type %s): it cannot be read back; --refresh works with postgres, sqlite and files destinations",
		conn.Name, conn.Type)
}

// checkRefresh fails early, before the source is extracted, when --refresh
// cannot read the sync's destination back.
func (r *Runner) checkRefresh(ctx context.Context, s *spec.Sync) error {
	if !r.Opt.Refresh || !ModeOf(s.Destination.Mode).Keyed {
		return nil
	}
	if s.WarehouseDiff() {
		return fmt.Errorf("sync %s: --refresh (and --reshard) diff in hoist against the destination, not with diff: warehouse; "+
			"`hoist state reset SPEC --sync %s` starts the warehouse snapshot afresh (the next run sends every row)", s.Name, s.Name)
	}
	conn := r.File.Connections[s.Destination.Connection]
	src, err := r.openReadBack(ctx, conn)
	if err != nil {
		return err
	}
	return src.Close()
}

// openReadBack opens the source side of the destination's connection.
func (r *Runner) openReadBack(ctx context.Context, conn *spec.Connection) (extract.Source, error) {
	if !slices.Contains(extract.Types(), conn.Type) {
		return nil, errRefreshUnsupported(conn)
	}
	src, err := extract.Open(ctx, conn, r.File.Dir)
	if err != nil {
		return nil, fmt.Errorf("read destination %s for --refresh: %w", conn.Name, err)
	}
	if _, ok := extract.AsObjectReader(src); !ok {
		src.Close()
		return nil, errRefreshUnsupported(conn)
	}
	return src, nil
}

// destRead is a destination read running beside the source's.
type destRead struct {
	cancel context.CancelFunc
	done   chan struct{}
	view   *destView
	err    error
	taken  bool
}

// startDestinationRead reads the destination for --refresh in the
// background, sorting with at most mem bytes of rows in memory.
func (r *Runner) startDestinationRead(ctx context.Context, s *spec.Sync, x *extraction, tmp string, mem int) *destRead {
	ctx, cancel := context.WithCancel(ctx)
	d := &destRead{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(d.done)
		d.view, d.err = r.readDestination(ctx, s, x, tmp, mem)
	}()
	return d
}

// take waits for the read and hands its view to the caller, who closes it.
func (d *destRead) take() (*destView, error) {
	<-d.done
	d.taken = true
	return d.view, d.err
}

// discard stops a read whose view was never taken (the source failed
// first) and frees what it holds.
func (d *destRead) discard() {
	d.cancel()
	<-d.done
	if !d.taken && d.view != nil {
		d.view.Close()
	}
}

// readDestination reads the destination's rows, keyed and encoded like the
// extract, into a key-ordered view that stands in for the snapshot.
func (r *Runner) readDestination(ctx context.Context, s *spec.Sync, x *extraction, tmp string, mem int) (*destView, error) {
	conn := r.File.Connections[s.Destination.Connection]
	src, err := r.openReadBack(ctx, conn)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	mapped := x.mappedSchema()
	or, _ := extract.AsObjectReader(src)
	rr, err := or.ReadObject(ctx, extract.ObjectRequest{
		Request: extract.Request{Sync: s.Name, Alloc: r.alloc(), Logger: r.log().With("sync", s.Name)},
		Dest:    &s.Destination, Schema: mapped,
	})
	if err != nil {
		return nil, fmt.Errorf("read destination %s for --refresh: %w", conn.Name, err)
	}
	defer rr.Release()
	v := &destView{}
	sorter := diff.NewSorter(tmp, mem)
	keyCols := make([]arrow.Array, len(x.keyIdx))
	var keyBuf, rowBuf, textBuf []byte
	for rr.Next() {
		rec, err := r.conformDest(ctx, rr.RecordBatch(), mapped)
		if err != nil {
			return nil, fmt.Errorf("read destination %s for --refresh: row %d: %w", conn.Name, v.read+1, err)
		}
		enc := diff.NewRowEncoder(rec)
		for k, idx := range x.keyIdx {
			keyCols[k] = rec.Column(idx)
		}
		for i := 0; i < int(rec.NumRows()); i++ {
			if x.shard != nil {
				// another shard's row: not this run's to keep or delete
				if textBuf = shard.AppendKeyText(textBuf[:0], keyCols, i); !x.shard.Spec.Holds(textBuf) {
					continue
				}
			}
			if keyBuf, err = diff.AppendKey(keyBuf[:0], keyCols, i); err != nil {
				v.nullKeys++ // no source row can match it: left alone
				continue
			}
			rowBuf = enc.Append(rowBuf[:0], i)
			if err := sorter.Add(keyBuf, rowBuf, nil); err != nil {
				rec.Release()
				return nil, err
			}
		}
		v.read += rec.NumRows()
		rec.Release()
	}
	if err := rr.Err(); err != nil {
		return nil, fmt.Errorf("read destination %s for --refresh: %w", conn.Name, err)
	}
	if v.it, err = sorter.Iter(); err != nil {
		return nil, err
	}
	return v, nil
}

// conformDest picks the mapped columns of a record read from the destination,
// by name, and casts each to its mapped type.
func (r *Runner) conformDest(ctx context.Context, rec arrow.RecordBatch, mapped *arrow.Schema) (arrow.RecordBatch, error) {
	cols := make([]arrow.Array, 0, mapped.NumFields())
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	for _, f := range mapped.Fields() {
		idx := rec.Schema().FieldIndices(f.Name)
		if len(idx) == 0 {
			return nil, fmt.Errorf("the destination has no column %q", f.Name)
		}
		col := rec.Column(idx[0])
		if arrow.TypeEqual(col.DataType(), f.Type) {
			col.Retain()
			cols = append(cols, col)
			continue
		}
		c, err := mappings.CastArray(ctx, col, f.Type, r.alloc(), "column "+f.Name)
		if err != nil {
			return nil, err
		}
		cols = append(cols, c)
	}
	return array.NewRecordBatch(mapped, cols, rec.NumRows()), nil
}

// destView iterates the destination's rows in key order as snapshot
// entries. Duplicate keys (a table without a unique key, a hand-edited file)
// fold to the last one read.
type destView struct {
	it       *diff.SortedIter
	read     int64 // rows read
	rows     int64 // distinct keys handed out
	nullKeys int64 // rows with a NULL key, skipped
	cur      state.Entry
	next     state.Entry // read ahead of cur
	haveNext bool
	started  bool
}

var _ state.Iterator = (*destView)(nil)

func (v *destView) Next() bool {
	if !v.started {
		v.started = true
		v.haveNext = v.advance(&v.next)
	}
	if !v.haveNext {
		return false
	}
	// The read-ahead entry becomes the current one by swapping buffers, so
	// each row is copied once, out of the sorter.
	v.cur, v.next = v.next, v.cur
	for {
		if v.haveNext = v.advance(&v.next); !v.haveNext || !bytes.Equal(v.next.Key, v.cur.Key) {
			break
		}
		v.cur.Row = append(v.cur.Row[:0], v.next.Row...)
	}
	v.rows++
	return true
}

func (v *destView) advance(e *state.Entry) bool {
	if !v.it.Next() {
		return false
	}
	e.Key = append(e.Key[:0], v.it.Key()...)
	e.Row = append(e.Row[:0], v.it.Row()...)
	return true
}

func (v *destView) Entry() state.Entry { return v.cur }
func (v *destView) Err() error         { return v.it.Err() }
func (v *destView) Close() error       { return v.it.Close() }

// unsentAdds takes out of res the adds --refresh does not send in a mode
// that cannot insert (update): the source keys the destination lacks. It
// returns how many there were.
func (r *Runner) unsentAdds(mode Mode, res *diffResult) int64 {
	if !r.Opt.Refresh || mode.Inserts {
		return 0
	}
	n := res.added
	res.added = 0
	return n
}

// refreshWarnings adds what plan --refresh found that it does not count.
func (r *Runner) refreshWarnings(pr *PlanReport, res *diffResult, missing int64) {
	if missing > 0 {
		pr.Warnings = append(pr.Warnings, fmt.Sprintf("%d source keys are missing from the destination; mode update does not insert them", missing))
	}
	if res.destNullKeys > 0 {
		pr.Warnings = append(pr.Warnings, fmt.Sprintf("%d destination rows have a NULL primary key and are left alone", res.destNullKeys))
	}
}
