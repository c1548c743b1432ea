package sync

import (
	"context"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/sync/diff"
	"github.com/hoist-dev/hoist/sync/spec"
)

// Stage 3 of a run (see run.go): batch. Changes from the diff are built
// into Arrow batches of one op each (the mode says which) as they come, or
// the extracted records are sliced into pieces, and handed to the load
// stage. A batch is cut at the sync's batch_size or, without one, at the
// destination's own limits in rows and bytes (load.BatchLimits), where the
// diff's batches ramp up from a merging database's Start size.

// outBatch is a batch on its way to a loader, with the cursor values of its
// rows (nil without a cursor) so the cursor can be kept behind every row the
// destination did not acknowledge.
type outBatch struct {
	load.Batch
	cursors arrow.Array
	keyIdx  []int // primary key columns of Record, for rejected-row lines
}

func (b *outBatch) release() {
	b.Record.Release()
	if b.Before != nil {
		b.Before.Release()
	}
	if b.cursors != nil {
		b.cursors.Release()
	}
}

// batches produces the run's batches for the load stage: the diff's changes
// in key order (keyed modes; a first load streams them), or slices of the
// extracted rows. With a joint commit the last batch is not sent but kept in
// u.final: the commit stage writes it with the state.
func (u *syncRun) batches(ctx context.Context, send func(*outBatch) error) error {
	if u.joint {
		send = u.holdLast(send)
	}
	if !u.mode.Keyed {
		return u.r.produceStream(ctx, u.mode, u.x, u.limits, send)
	}
	first, err := u.firstLoad(ctx)
	if err != nil {
		return err
	}
	if first != nil {
		return u.produceFirstLoad(ctx, first, send)
	}
	return u.produceKeyed(ctx, send)
}

// batchLimits is where the run cuts batches: at batch_size rows if the
// sync sets it, else at the destination's limits.
func batchLimits(s *spec.Sync, w load.Writer) load.BatchLimits {
	if s.BatchSize > 0 {
		return load.BatchLimits{Rows: s.BatchSize}
	}
	return load.LimitsOf(w)
}

// holdLast sends each batch when the next one comes, so that the last one
// stays in u.final.
func (u *syncRun) holdLast(send func(*outBatch) error) func(*outBatch) error {
	return func(b *outBatch) error {
		prev := u.final
		u.final = b
		if prev == nil {
			return nil
		}
		return send(prev)
	}
}

// produceStream sends every extracted row (modes append and replace) in
// slices of the mapped records.
func (r *Runner) produceStream(ctx context.Context, mode Mode, x *extraction, lim load.BatchLimits, send func(*outBatch) error) error {
	seq := 0
	for {
		rec, cur, err := x.next(ctx)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		err = sliceRecord(rec, lim, func(off, end int64) error {
			b := &outBatch{Batch: load.Batch{Seq: seq, Op: mode.Write, Record: rec.NewSlice(off, end)}, keyIdx: x.keyIdx}
			if cur != nil {
				b.cursors = array.NewSlice(cur, off, end)
			}
			seq++
			return send(b)
		})
		rec.Release()
		if cur != nil {
			cur.Release()
		}
		if err != nil {
			return err
		}
	}
}

// sliceRecord calls fn with the bounds of each batch-sized slice of rec,
// sized by rows and by rec's bytes per row.
func sliceRecord(rec arrow.Record, lim load.BatchLimits, fn func(off, end int64) error) error {
	n := rec.NumRows()
	step := int64(lim.Rows)
	if lim.Bytes > 0 && n > 0 {
		perRow := max(recordBytes(rec)/n, 1)
		step = max(min(step, int64(lim.Bytes)/perRow), 1)
	}
	for off := int64(0); off < n; off += step {
		if err := fn(off, min(off+step, n)); err != nil {
			return err
		}
	}
	return nil
}

// recordBytes is the size of rec's buffers: what its rows weigh in memory,
// a fair measure of what they weigh on the wire. (arrow/util's
// TotalRecordSize does the same but imports protobuf reflection.)
func recordBytes(rec arrow.Record) int64 {
	var n int64
	for _, col := range rec.Columns() {
		n += dataBytes(col.Data())
	}
	return n
}

func dataBytes(d arrow.ArrayData) int64 {
	var n int64
	for _, b := range d.Buffers() {
		if b != nil {
			n += int64(b.Len())
		}
	}
	for _, c := range d.Children() {
		n += dataBytes(c)
	}
	return n
}

// batchState is a batch being built from the changeset.
type batchState struct {
	rb *array.RecordBuilder
	// rows decodes changed rows into rb
	rows *diff.RowAppender
	cur  array.Builder
	// extras: record IDs and changed fields, for a writer that needs them
	extras *batchExtras
}

// changeBatches builds the diff's changes into batches as they come and
// logs each change with the batch and row it went out as (u.cs; deletes in
// u.removes), for the commit.
type changeBatches struct {
	u          *syncRun
	bt         *batcher
	full, keys *arrow.Schema
	curType    arrow.DataType
}

func (u *syncRun) newChangeBatches(send func(*outBatch) error) *changeBatches {
	x := u.x
	c := &changeBatches{u: u, full: x.mappedSchema(), keys: x.keySchema()}
	if x.curIdx >= 0 {
		c.curType = x.rdr.Schema().Field(x.curIdx).Type
	}
	keyIdx := make([]int, len(x.keyIdx))
	for i := range keyIdx {
		keyIdx[i] = i
	}
	c.bt = newBatcher(u.limits, u.stage.workers, func(p *pending) error {
		st := p.data.(*batchState)
		rec := st.rb.NewRecord()
		st.rb.Release()
		b := &outBatch{Batch: load.Batch{Seq: p.seq, Op: p.op, Record: rec}, keyIdx: x.keyIdx}
		st.extras.fill(&b.Batch)
		if p.op == load.OpDelete {
			b.keyIdx = keyIdx
		}
		if st.cur != nil {
			b.cursors = st.cur.NewArray()
			st.cur.Release()
		}
		return send(b)
	})
	return c
}

// add places one change in the open batch of its op, logs it, and sends the
// batch once it is full.
func (c *changeBatches) add(kind diff.Kind, key, row, aux, old, id []byte) error {
	op := c.u.mode.Op(kind)
	p, idx := c.bt.place(op, func(p *pending) {
		schema := c.full
		if op == load.OpDelete {
			schema = c.keys
		}
		rb := array.NewRecordBuilder(c.u.x.alloc, schema)
		st := &batchState{rb: rb, rows: diff.NewRowAppender(rb), extras: newBatchExtras(c.u.needs, c.u.x.alloc, schema, c.full)}
		if c.curType != nil && op != load.OpDelete {
			st.cur = array.NewBuilder(c.u.x.alloc, c.curType)
		}
		p.data = st
	})
	st := p.data.(*batchState)
	ch := change{kind: kind, key: key, row: row, aux: aux, old: old, id: id}
	if err := appendChange(st, op, &ch); err != nil {
		return fmt.Errorf("build batch %d: key %s: %w", p.seq, diff.KeyString(key), err)
	}
	if err := st.extras.add(&ch); err != nil {
		return fmt.Errorf("build batch %d: key %s: %w", p.seq, diff.KeyString(key), err)
	}
	log := c.u.cs
	if kind == diff.Remove {
		log = c.u.removes
	}
	if err := log.addSent(kind, key, row, aux, old, id, p.seq, idx); err != nil {
		return fmt.Errorf("write changeset: %w", err)
	}
	p.bytes += len(key) + len(row)
	return c.bt.fill(p)
}

// flush sends the batches still open.
func (c *changeBatches) flush() error { return c.bt.flush() }

// release frees the builders of batches never sent (a failed run).
func (c *changeBatches) release() {
	for _, p := range c.bt.open {
		st := p.data.(*batchState)
		st.rb.Release()
		st.extras.release()
		if st.cur != nil {
			st.cur.Release()
		}
	}
	clear(c.bt.open)
}

// appendChange decodes one change into a batch's builders.
func appendChange(st *batchState, op load.Op, ch *change) error {
	if op == load.OpDelete {
		parts, err := diff.DecodeKey(ch.key)
		if err != nil {
			return err
		}
		for i, text := range parts {
			if err := st.rb.Field(i).AppendValueFromString(text); err != nil {
				return fmt.Errorf("key field %s: %w", st.rb.Schema().Field(i).Name, err)
			}
		}
		return nil
	}
	if err := st.rows.Append(ch.row); err != nil {
		return err
	}
	if st.cur != nil {
		if len(ch.aux) == 0 {
			st.cur.AppendNull()
		} else if err := diff.AppendValueTo(st.cur, ch.aux); err != nil {
			return fmt.Errorf("cursor: %w", err)
		}
	}
	return nil
}

// batcher cuts changes into batches of one op each, numbering every batch
// when it gets its first row.
type batcher struct {
	lim     load.BatchLimits
	loaders int // batches per round of the ramp (lim.Start)
	next    int
	open    map[load.Op]*pending
	emit    func(p *pending) error
}

type pending struct {
	op      load.Op
	seq     int
	rows    int
	maxRows int // where this batch is cut (the ramp's size for its seq)
	bytes   int // of the encoded rows, against lim.Bytes
	data    any // the caller's builder state
}

// rowLimit is the row cap of batch seq: lim.Rows, or on a ramp, lim.Start
// doubled once per round of loaders batches before it, up to lim.Rows.
func (b *batcher) rowLimit(seq int) int {
	if b.lim.Start <= 0 || b.lim.Start >= b.lim.Rows {
		return b.lim.Rows
	}
	n := b.lim.Start
	for round := seq / max(b.loaders, 1); round > 0 && n < b.lim.Rows; round-- {
		n *= 2
	}
	return min(n, b.lim.Rows)
}

// place assigns one change to the open batch of its op (opening one, with
// start, if needed) and returns the batch and the change's row index in it.
func (b *batcher) place(op load.Op, start func(p *pending)) (*pending, int) {
	p := b.open[op]
	if p == nil {
		p = &pending{op: op, seq: b.next, maxRows: b.rowLimit(b.next)}
		b.next++
		b.open[op] = p
		if start != nil {
			start(p)
		}
	}
	row := p.rows
	p.rows++
	return p, row
}

// fill emits p once it holds a full batch; call it after appending the row.
func (b *batcher) fill(p *pending) error {
	if p.rows < p.maxRows && (b.lim.Bytes == 0 || p.bytes < b.lim.Bytes) {
		return nil
	}
	delete(b.open, p.op)
	return b.emit(p)
}

// flush emits the open batches in sequence order.
func (b *batcher) flush() error {
	for len(b.open) > 0 {
		var first *pending
		for _, p := range b.open {
			if first == nil || p.seq < first.seq {
				first = p
			}
		}
		delete(b.open, first.op)
		if err := b.emit(first); err != nil {
			return err
		}
	}
	return nil
}

func newBatcher(lim load.BatchLimits, loaders int, emit func(p *pending) error) *batcher {
	return &batcher{lim: lim, loaders: loaders, open: map[load.Op]*pending{}, emit: emit}
}
