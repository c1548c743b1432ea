package sync

import (
	"bytes"
	"context"
	"fmt"

	"github.com/hoist-dev/hoist/sync/diff"
	"github.com/hoist-dev/hoist/sync/spec"
	"github.com/hoist-dev/hoist/sync/state"
)

// refreshCommit turns what run --refresh learnt into the state commit. The
// run's deltas were computed against the destination, not the snapshot, so
// they cannot be applied to the snapshot as they are (a key the snapshot
// holds but the destination lost would stay, a row hand-edited in the
// destination and left alone by insert mode would keep its old snapshot
// value). Instead the new snapshot is the destination as read (view: every
// key the merge saw on the destination side, with its row) with the run's
// acknowledged changes applied, and the commit's delta is the difference
// between it and the store's current snapshot, under the run's lock.
type refreshCommit struct {
	r    *Runner
	s    *spec.Sync
	mode Mode
	view *changeset // (key, destination row) in key order
	tmp  string
}

func newRefreshCommit(r *Runner, s *spec.Sync, tmp string) (*refreshCommit, error) {
	view, err := newChangeset(tmp)
	if err != nil {
		return nil, err
	}
	return &refreshCommit{r: r, s: s, mode: ModeOf(s.Destination.Mode), view: view, tmp: tmp}, nil
}

// record keeps the destination side of a merge event. A key the
// destination lacks is left out, except in a mode that cannot insert it
// (update): its snapshot holds every key it sent whether the destination had
// it or not (see Mode.Sends), so --refresh records it as a normal run would
// and the next run does not send it again.
func (rc *refreshCommit) record(e diff.Event) error {
	if e.Old != nil {
		return rc.view.add(diff.Unchanged, e.Key, e.Old, nil)
	}
	if !rc.mode.Inserts {
		return rc.view.add(diff.Unchanged, e.Key, e.New, nil)
	}
	return nil
}

func (rc *refreshCommit) close() { rc.view.close() }

// delta returns the commit's delta: acked (the run's acknowledged changes,
// nil if none) laid over the view, diffed against the stored snapshot. It is
// written to a temp file first, so the store never has its snapshot read
// while it commits.
func (rc *refreshCommit) delta(ctx context.Context, acked state.Iterator) (state.Iterator, error) {
	vr, err := rc.view.reader()
	if err != nil {
		return nil, err
	}
	now := &overlay{view: vr, acked: acked}
	old, err := rc.r.Store.Snapshot(ctx, rc.r.stateName(rc.s))
	if err != nil {
		return nil, fmt.Errorf("read snapshot: %w", err)
	}
	defer old.Close()
	out, err := newChangeset(rc.tmp)
	if err != nil {
		return nil, err
	}
	d := &refreshDelta{cs: out}
	haveOld, haveNow := old.Next(), now.Next()
	for haveOld || haveNow {
		if err := ctx.Err(); err != nil {
			out.close()
			return nil, err
		}
		c := 0
		switch {
		case !haveNow:
			c = -1
		case !haveOld:
			c = 1
		default:
			c = bytes.Compare(old.Entry().Key, now.cur.Key)
		}
		switch {
		case c < 0:
			err = out.add(diff.Remove, old.Entry().Key, nil, nil)
			d.change--
		case c > 0:
			err = out.add(diff.Add, now.cur.Key, now.cur.Row, nil)
			d.change++
		case !bytes.Equal(old.Entry().Row, now.cur.Row):
			err = out.add(diff.Change, now.cur.Key, now.cur.Row, nil)
		}
		if err != nil {
			out.close()
			return nil, err
		}
		if c <= 0 {
			haveOld = old.Next()
		}
		if c >= 0 {
			haveNow = now.Next()
		}
	}
	if err := firstErr(old.Err(), now.err()); err != nil {
		out.close()
		return nil, fmt.Errorf("build the refreshed snapshot: %w", err)
	}
	if d.rd, err = out.reader(); err != nil {
		out.close()
		return nil, err
	}
	return d, nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// overlay walks the view with the acknowledged changes applied, in key order:
// a change sets its key's row, a remove (nil Row) drops the key.
type overlay struct {
	view    *changesetReader
	acked   state.Iterator // nil: nothing was acknowledged
	started bool
	haveV   bool
	haveA   bool
	cur     state.Entry
}

func (o *overlay) err() error {
	if o.view.err != nil {
		return o.view.err
	}
	if o.acked != nil {
		return o.acked.Err()
	}
	return nil
}

func (o *overlay) nextAcked() bool { return o.acked != nil && o.acked.Next() }

func (o *overlay) Next() bool {
	if !o.started {
		o.started = true
		o.haveV, o.haveA = o.view.next(), o.nextAcked()
	}
	for o.haveV || o.haveA {
		c := 0
		switch {
		case !o.haveA:
			c = -1
		case !o.haveV:
			c = 1
		default:
			c = bytes.Compare(o.view.ch.key, o.acked.Entry().Key)
		}
		var key, row []byte
		if c < 0 {
			key, row = o.view.ch.key, o.view.ch.row
		} else {
			e := o.acked.Entry()
			key, row = e.Key, e.Row
		}
		// copy before advancing: both readers reuse their buffers
		o.cur.Key = append(o.cur.Key[:0], key...)
		removed := row == nil
		o.cur.Row = append(o.cur.Row[:0], row...)
		if c <= 0 {
			o.haveV = o.view.next()
		}
		if c >= 0 {
			o.haveA = o.nextAcked()
		}
		if !removed {
			return true
		}
	}
	return false
}

// refreshDelta replays the computed delta for the store.
type refreshDelta struct {
	cs     *changeset
	rd     *changesetReader
	cur    state.Entry
	change int64
}

var _ state.RowCounter = (*refreshDelta)(nil)

func (d *refreshDelta) Next() bool {
	if !d.rd.next() {
		return false
	}
	d.cur = state.Entry{Key: d.rd.ch.key, Row: d.rd.ch.row}
	if d.rd.ch.kind == diff.Remove {
		d.cur.Row = nil
	}
	return true
}

// RowChange implements state.RowCounter: keys added less keys removed,
// counted against the stored snapshot under the run's lock.
func (d *refreshDelta) RowChange() int64   { return d.change }
func (d *refreshDelta) Entry() state.Entry { return d.cur }
func (d *refreshDelta) Err() error         { return d.rd.err }
func (d *refreshDelta) Close() error       { d.cs.close(); return nil }
