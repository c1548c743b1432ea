package sync

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/sync/diff"
	"github.com/hoist-dev/hoist/sync/state"
)

// A first load: when a keyed sync's snapshot is empty, every extracted key is
// an add, so there is nothing to diff before sending. The extracted records
// go to the loaders as they are read (sliced into batches, rows with a NULL
// key left out and rejected), and only the snapshot the commit needs is
// sorted, beside the load: no changeset of the whole table is spilled and
// the destination is busy from the first record. Where the destination says
// its object is empty and enforces the key (load.FirstLoader), the batches
// are plain appends (PostgreSQL: COPY straight into the table, no staging
// table, no ON CONFLICT).
//
// A duplicate key in the source is found only when the snapshot is merged,
// at the commit, after the rows went out. The strict commit then fails
// (errFirstLoadDuplicate) and the run commits again, recording every key the
// destination acknowledged (a key sent twice with a row that matches
// neither, so the next run sends it again) before it fails with the same
// error a diff would have given: nothing delivered is left out of the state.

// firstLoadRun is a first load's bookkeeping: the sorter of the rows sent,
// keyed, each with the batch and row it went out as (its aux).
type firstLoadRun struct {
	op     load.Op
	sorter *diff.Sorter
	// dup is the first duplicate key the strict commit found.
	dup *diff.DuplicateKeyError
}

// errFirstLoadDuplicate fails a strict first-load commit that met a
// duplicate key (firstLoadRun.dup says which).
var errFirstLoadDuplicate = errors.New("duplicate primary key in a first load")

// firstLoad returns the first-load plan when this run is one: a keyed sync
// with an empty snapshot, not diffed against the destination (--refresh),
// and not keeping the last of duplicate keys (which needs the whole source
// sorted before it knows which row to send). nil otherwise.
func (u *syncRun) firstLoad(ctx context.Context) (*firstLoadRun, error) {
	r, s := u.r, u.s
	// A writer that needs record IDs or changed fields (business apps)
	// takes the diffing path, which carries them.
	// (A stream's before needs neither: a first load has no snapshot rows.)
	if r.Opt.Refresh || s.OnDuplicate == "last" || u.st.SnapshotRows > 0 || u.needs.IDs || u.needs.Changed || u.x.wh != nil {
		return nil, nil
	}
	// SnapshotRows is the store's count; the snapshot itself has the last word.
	snap, err := r.Store.Snapshot(ctx, r.stateName(s))
	if err != nil {
		return nil, fmt.Errorf("read snapshot: %w", err)
	}
	empty := !snap.Next()
	if err := errors.Join(snap.Err(), snap.Close()); err != nil {
		return nil, fmt.Errorf("read snapshot: %w", err)
	}
	if !empty {
		return nil, nil
	}
	f := &firstLoadRun{op: u.mode.Op(diff.Add)}
	if fl, ok := u.w.(load.FirstLoader); ok && u.mode.Inserts {
		appendOK, err := fl.FirstLoad(ctx)
		if err != nil {
			return nil, fmt.Errorf("check %s for a first load: %w", s.Destination.Object, err)
		}
		if appendOK {
			f.op = load.OpAppend
		}
	}
	r.log().Debug("first load: no diff", "sync", s.Name, "op", f.op.String())
	return f, nil
}

// produceFirstLoad sends every extracted row with a key, in batches cut from
// the records as they are read, and sorts the rows sent for the commit.
func (u *syncRun) produceFirstLoad(ctx context.Context, f *firstLoadRun, send func(*outBatch) error) error {
	u.first = f
	x := u.x
	f.sorter = diff.NewSorter(u.tmp, u.r.Opt.SortMemory)
	f.sorter.KeepRuns() // the commit may read them twice
	keyCols := make([]arrow.Array, len(x.keyIdx))
	var keyBuf, rowBuf, auxBuf []byte
	seq := 0
	for {
		rec, cur, err := x.next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		err = func() error {
			defer rec.Release()
			if cur != nil {
				defer cur.Release()
			}
			enc := diff.NewRowEncoder(rec)
			for k, idx := range x.keyIdx {
				keyCols[k] = rec.Column(idx)
			}
			// [from, i) is the open batch: rows with a key, in a row
			emit := func(from, to int) error {
				b := &outBatch{Batch: load.Batch{Seq: seq, Op: f.op, Record: rec.NewSlice(int64(from), int64(to))}, keyIdx: x.keyIdx}
				if cur != nil {
					b.cursors = array.NewSlice(cur, int64(from), int64(to))
				}
				seq++
				return send(b)
			}
			from, size := -1, 0
			for i := 0; i < int(rec.NumRows()); i++ {
				keyBuf, err = diff.AppendKey(keyBuf[:0], keyCols, i)
				if err != nil {
					if from >= 0 {
						if err := emit(from, i); err != nil {
							return err
						}
						from = -1
					}
					if err := u.rejectNullKey(rec, cur, i); err != nil {
						return err
					}
					continue
				}
				if from < 0 {
					from, size = i, 0
				}
				rowBuf = enc.Append(rowBuf[:0], i)
				auxBuf = binary.AppendUvarint(auxBuf[:0], uint64(seq))
				auxBuf = binary.AppendUvarint(auxBuf, uint64(i-from))
				if err := f.sorter.Add(keyBuf, rowBuf, auxBuf); err != nil {
					return err
				}
				size += len(keyBuf) + len(rowBuf)
				if i+1-from >= u.limits.Rows || (u.limits.Bytes > 0 && size >= u.limits.Bytes) {
					if err := emit(from, i+1); err != nil {
						return err
					}
					from = -1
				}
			}
			if from >= 0 {
				return emit(from, int(rec.NumRows()))
			}
			return nil
		}()
		if err != nil {
			return err
		}
	}
	u.rep.counts = counts{Added: x.read - u.nullKey}
	return nil
}

// rejectNullKey writes row i, whose primary key is NULL, to the rejected
// rows file, and keeps the cursor behind it.
func (u *syncRun) rejectNullKey(rec arrow.Record, cur arrow.Array, i int) error {
	line := rejectLine{Sync: u.s.Name, Key: keyOf(rec, i, u.x.keyIdx), Row: rowMap(rec, i, nil), Error: "primary key is NULL"}
	if err := u.rejects.write(line); err != nil {
		return err
	}
	if cur != nil {
		u.x.cursors.unackedValue(cursorOf(cur, i))
	}
	u.nullKey++
	u.stage.nullKeys.Add(1)
	return nil
}

// delta is the snapshot of a first load: the rows sent, in key order, that
// the destination acknowledged. Strict, it fails at a duplicate key.
func (f *firstLoadRun) delta(acks *acks) (state.Iterator, error) {
	it, err := f.sorter.Iter()
	if err != nil {
		return nil, err
	}
	return &firstDelta{f: f, it: it, acks: acks, strict: f.dup == nil}, nil
}

// duplicateKey is the run's failure for the duplicate key a first load's
// commit met: the message a diff gives, at the sync's primary_key.
func (u *syncRun) duplicateKey() error {
	return u.r.File.Problem(u.s.Field()+".destination.primary_key", "%v", u.first.dup)
}

func (f *firstLoadRun) close() {
	if f.sorter != nil {
		f.sorter.Remove()
	}
}

// firstDelta walks the sorted rows of a first load. A key sent twice fails
// a strict walk; otherwise it is recorded if any of its rows was
// acknowledged, with the one acknowledged row, or with an empty row (which
// no source row encodes to) when more than one was.
type firstDelta struct {
	f      *firstLoadRun
	it     *diff.SortedIter
	acks   *acks
	strict bool
	held   bool // it is on the first row of the next key already
	key    []byte
	row    []byte
	cur    state.Entry
	n      int64
	err    error
}

var _ state.RowCounter = (*firstDelta)(nil)

func (d *firstDelta) Next() bool {
	for d.err == nil {
		if !d.held && !d.it.Next() {
			d.err = d.it.Err()
			return false
		}
		d.held = false
		d.key = append(d.key[:0], d.it.Key()...)
		acked, ok := 0, d.delivered()
		if ok {
			acked++
			d.row = append(d.row[:0], d.it.Row()...)
		}
		for d.it.Next() {
			if !bytes.Equal(d.it.Key(), d.key) {
				d.held = true
				break
			}
			if d.strict {
				d.f.dup = &diff.DuplicateKeyError{Key: diff.KeyString(d.key)}
				d.err = errFirstLoadDuplicate
				return false
			}
			if d.delivered() {
				acked++
				d.row = append(d.row[:0], d.it.Row()...)
			}
		}
		if !d.held && d.it.Err() != nil {
			d.err = d.it.Err()
			return false
		}
		if acked == 0 {
			continue
		}
		if acked > 1 {
			d.row = d.row[:0] // matches no source row: sent again next run
		}
		d.cur = state.Entry{Key: d.key, Row: d.row}
		d.n++
		return true
	}
	return false
}

// delivered reports whether the current row was acknowledged.
func (d *firstDelta) delivered() bool {
	aux := d.it.Aux()
	seq, n := binary.Uvarint(aux)
	idx, m := binary.Uvarint(aux[max(n, 0):])
	if n <= 0 || m <= 0 {
		d.err = fmt.Errorf("first load: corrupt batch reference")
		return false
	}
	return d.acks.delivered(int(seq), int(idx))
}

// RowChange implements state.RowCounter: every key recorded is new.
func (d *firstDelta) RowChange() int64 { return d.n }

func (d *firstDelta) Entry() state.Entry { return d.cur }
func (d *firstDelta) Err() error         { return d.err }
func (d *firstDelta) Close() error       { return d.it.Close() }
