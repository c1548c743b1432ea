package sync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/hoist-dev/hoist/internal/cursor"
	"github.com/hoist-dev/hoist/sync/diff"
	"github.com/hoist-dev/hoist/sync/spec"
	"github.com/hoist-dev/hoist/sync/state"
)

// Stage 2 of a run (see run.go): diff. Keys and rows are encoded (package
// diff's codec), sorted by key with bounded memory and merged against the
// snapshot; the changes the mode sends flow into batches (stage_batch.go)
// as the merge finds them, so the loaders work while the merge runs. Each
// change sent is logged to the changeset with the batch it went out in, for
// the commit. A first load skips all this (stage_firstload.go).

// produceKeyed is the batch stage's producer for keyed modes: it classifies
// every extracted key against the snapshot (with --refresh, against the
// destination) and sends what the mode sends, in key order. Rows with a
// NULL key are rejected. Deletes wait until the merge has counted them
// all: a mode whose deletes are bounded refuses a mass delete before one
// is sent. Adds and changes do not wait, so a run the guard stops may have
// delivered them (and commits them: they were acknowledged).
func (u *syncRun) produceKeyed(ctx context.Context, send func(*outBatch) error) error {
	r, s := u.r, u.s
	var err error
	if u.cs, err = newChangeset(u.tmp); err != nil {
		return err
	}
	if u.removes, err = newChangeset(u.tmp); err != nil {
		return err
	}
	held, err := newChangeset(u.tmp) // removes, until the guard has seen them all
	if err != nil {
		return err
	}
	defer held.close()
	if r.Opt.Refresh {
		if u.refresh, err = newRefreshCommit(r, s, u.tmp); err != nil {
			return err
		}
	}
	cb := u.newChangeBatches(send)
	// NULL keys are known once the source is sorted: rejected before the
	// first batch goes out, they count towards max_rejected from the start.
	rejectNull := func(res *diffResult) error { return u.rejectNullKeys(res.nullKeys, res.nullKeyCursors) }
	res, err := r.runDiff(ctx, s, u.x, u.tmp, rejectNull, func(e diff.Event) error {
		if u.refresh != nil {
			if err := u.refresh.record(e); err != nil {
				return err
			}
		}
		if !u.mode.Sends(e.Kind, r.Opt.FullRefresh, r.Opt.Refresh) {
			return nil
		}
		old, id := u.extras(e)
		if e.Kind == diff.Remove {
			return held.addSent(e.Kind, e.Key, nil, e.Aux, old, id, 0, 0)
		}
		return cb.add(e.Kind, e.Key, e.New, e.Aux, old, id)
	})
	if err != nil {
		return err
	}
	if n := r.unsentAdds(u.mode, res); n > 0 {
		r.log().Warn("source keys missing from the destination are not inserted in mode update", "sync", s.Name, "rows", n)
	}
	u.rep.counts = tally(u.mode, r.Opt.FullRefresh, res)
	r.log().Debug("diff done", "sync", s.Name, "rows", u.x.read, "added", res.added, "changed", res.changed,
		"removed", res.removed, "duration_ms", time.Since(u.start).Milliseconds())
	if !r.Opt.AllowMassDelete {
		if err := massDelete(u.mode, s, res.removed, r.baseRows(u.st, res)); err != nil {
			return err
		}
	}
	if u.stage.progress != nil {
		u.stage.progress.Total(u.cs.count + held.count)
	}
	rd, err := held.reader()
	if err != nil {
		return err
	}
	for rd.next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := cb.add(diff.Remove, rd.ch.key, nil, rd.ch.aux, rd.ch.old, rd.ch.id); err != nil {
			return err
		}
	}
	if rd.err != nil {
		return rd.err
	}
	return cb.flush()
}

// rejectNullKeys writes the rows whose primary key is NULL to the rejected
// rows file, and keeps the cursor behind them.
func (u *syncRun) rejectNullKeys(lines []rejectLine, cursors []*cursor.Cursor) error {
	for i, line := range lines {
		if err := u.rejects.write(line); err != nil {
			return err
		}
		if i < len(cursors) {
			u.x.cursors.unackedValue(cursors[i])
		}
	}
	u.nullKey = int64(len(lines))
	u.stage.nullKeys.Store(u.nullKey)
	return nil
}

// diffResult is the outcome of classifying a keyed sync's rows.
type diffResult struct {
	added, changed, removed, unchanged int64
	nullKeys                           []rejectLine
	nullKeyCursors                     []*cursor.Cursor
	// destRows and destNullKeys count the destination's keys and NULL-key
	// rows (--refresh).
	destRows, destNullKeys int64
	// wh: the diff ran in the warehouse, whose snapshot held whRows keys.
	wh     bool
	whRows int64
}

// runDiff extracts everything, sorts it by key with bounded memory and
// merges it against the snapshot, calling fn per classified key; sorted,
// when set, is called once the source is sorted, before the merge.
func (r *Runner) runDiff(ctx context.Context, s *spec.Sync, x *extraction, tmp string, sorted func(*diffResult) error, fn func(diff.Event) error) (*diffResult, error) {
	res := &diffResult{}
	count := func(e diff.Event) error {
		switch e.Kind {
		case diff.Add:
			res.added++
		case diff.Change:
			res.changed++
		case diff.Remove:
			res.removed++
		case diff.Unchanged:
			res.unchanged++
		}
		return fn(e)
	}
	if x.wh != nil {
		if err := r.warehouseDiff(ctx, s, x, sorted, count, res); err != nil {
			return nil, err
		}
		return res, nil
	}
	mem := r.Opt.SortMemory
	if mem <= 0 {
		mem = diff.DefaultSortMemory
	}
	// --refresh reads the destination while the source is read: the two are
	// independent until the merge, and each mostly waits on its own server,
	// so the second read hides behind the first (each sorter gets half the
	// memory, so the run holds no more than a plain one).
	var dest *destRead
	if r.Opt.Refresh && !x.noSnapshot {
		mem /= 2
		dest = r.startDestinationRead(ctx, s, x, tmp, mem)
		defer dest.discard()
	}
	sorter := diff.NewSorter(tmp, mem)
	keyCols := make([]arrow.Array, len(x.keyIdx))
	var keyBuf, rowBuf, auxBuf []byte
	for {
		rec, cur, err := x.next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		enc := diff.NewRowEncoder(rec)
		for k, idx := range x.keyIdx {
			keyCols[k] = rec.Column(idx)
		}
		for i := 0; i < int(rec.NumRows()); i++ {
			keyBuf, err = diff.AppendKey(keyBuf[:0], keyCols, i)
			if err != nil {
				res.nullKeys = append(res.nullKeys, rejectLine{Sync: s.Name, Key: keyOf(rec, i, x.keyIdx), Row: rowMap(rec, i, nil), Error: "primary key is NULL"})
				if cur != nil {
					res.nullKeyCursors = append(res.nullKeyCursors, cursorOf(cur, i))
				}
				continue
			}
			rowBuf = enc.Append(rowBuf[:0], i)
			auxBuf = auxBuf[:0]
			if cur != nil {
				auxBuf = diff.AppendValue(auxBuf, cur, i)
			}
			if err := sorter.Add(keyBuf, rowBuf, auxBuf); err != nil {
				rec.Release()
				cur.Release()
				return nil, err
			}
		}
		rec.Release()
		if cur != nil {
			cur.Release()
		}
	}
	it, err := sorter.Iter()
	if err != nil {
		return nil, err
	}
	defer it.Close()
	if sorted != nil {
		if err := sorted(res); err != nil {
			return nil, err
		}
	}
	// --refresh compares with the whole source, so keys only the
	// destination holds are removes even with a cursor.
	opt := diff.MergeOptions{Removes: x.curIdx < 0 || r.Opt.Refresh, LastWins: s.OnDuplicate == "last"}
	if x.noSnapshot {
		err = diff.Merge(it, &state.SliceIterator{}, opt, count)
	} else if r.Opt.Refresh {
		var view *destView
		if view, err = dest.take(); err != nil {
			return nil, err
		}
		err = diff.Merge(it, view, opt, count)
		view.Close()
		res.destRows, res.destNullKeys = view.rows, view.nullKeys
	} else if ls, ok := r.Store.(state.LookupStore); ok && x.curIdx >= 0 && x.after != nil {
		// An incremental run can only add or change what it extracted, so
		// it reads just those keys of the snapshot.
		var look state.Lookup
		if look, err = ls.Lookup(ctx, r.stateName(s)); err != nil {
			return nil, fmt.Errorf("read snapshot: %w", err)
		}
		err = diff.MergeLookup(ctx, it, look, opt, count)
		look.Close()
	} else {
		var snap state.Iterator
		if snap, err = r.Store.Snapshot(ctx, r.stateName(s)); err != nil {
			return nil, fmt.Errorf("read snapshot: %w", err)
		}
		err = diff.Merge(it, snap, opt, count)
		snap.Close()
	}
	if err != nil {
		var dup *diff.DuplicateKeyError
		if errors.As(err, &dup) {
			return nil, r.File.Problem(s.Field()+".destination.primary_key", "%v", err)
		}
		return nil, err
	}
	return res, nil
}

// massDelete returns an error when a mode whose deletes are bounded would
// remove more than the sync allows.
func massDelete(mode Mode, s *spec.Sync, removed, snapshotRows int64) error {
	if !mode.BoundedDeletes || removed == 0 || snapshotRows == 0 {
		return nil
	}
	frac := float64(removed) / float64(snapshotRows)
	if frac <= *s.MaxDeleteFraction {
		return nil
	}
	return fmt.Errorf("refusing to delete %d of %d rows (%.0f%% > max_delete_fraction %.0f%%): an empty or broken source would wipe the destination; pass --allow-mass-delete if this is intended",
		removed, snapshotRows, frac*100, *s.MaxDeleteFraction*100)
}
