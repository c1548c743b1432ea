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

// Stage 3 of a run (see run.go): batch. Changes are decoded from the
// changeset into Arrow batches of one op each (the mode says which), or the
// extracted records are sliced into batch_size pieces, and handed to the
// load stage. The batch numbering is a pure function of the change order,
// so the commit stage can replay it (delta).

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
	if b.cursors != nil {
		b.cursors.Release()
	}
}

// batches produces the run's batches for the load stage: the changeset's
// changes in key order (keyed modes) or slices of the extracted rows. With a
// joint commit the last batch is not sent but kept in u.final: the commit
// stage writes it with the state.
func (u *syncRun) batches(ctx context.Context, send func(*outBatch) error) error {
	if u.joint {
		send = u.holdLast(send)
	}
	if u.mode.Keyed {
		return u.r.produceChanges(ctx, u.s, u.mode, u.needs, u.x, u.cs, send)
	}
	return u.r.produceStream(ctx, u.s, u.mode, u.x, send)
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
// batch_size slices of the mapped records.
func (r *Runner) produceStream(ctx context.Context, s *spec.Sync, mode Mode, x *extraction, send func(*outBatch) error) error {
	seq := 0
	for {
		rec, cur, err := x.next(ctx)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		n := rec.NumRows()
		for off := int64(0); off < n; off += int64(s.BatchSize) {
			end := min(off+int64(s.BatchSize), n)
			b := &outBatch{Batch: load.Batch{Seq: seq, Op: mode.Write, Record: rec.NewSlice(off, end)}, keyIdx: x.keyIdx}
			if cur != nil {
				b.cursors = array.NewSlice(cur, off, end)
			}
			seq++
			if err := send(b); err != nil {
				rec.Release()
				if cur != nil {
					cur.Release()
				}
				return err
			}
		}
		rec.Release()
		if cur != nil {
			cur.Release()
		}
	}
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

// produceChanges builds batches from the changeset in key order.
func (r *Runner) produceChanges(ctx context.Context, s *spec.Sync, mode Mode, needs load.BatchNeeds, x *extraction, cs *changeset, send func(*outBatch) error) error {
	full, keys := x.mappedSchema(), x.keySchema()
	var curType arrow.DataType
	if x.curIdx >= 0 {
		curType = x.rdr.Schema().Field(x.curIdx).Type
	}
	keyIdx := make([]int, len(x.keyIdx))
	for i := range keyIdx {
		keyIdx[i] = i
	}
	bt := newBatcher(s.BatchSize, func(p *pending) error {
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
	rd, err := cs.reader()
	if err != nil {
		return err
	}
	for rd.next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		ch := &rd.ch
		op := mode.Op(ch.kind)
		p, _ := bt.place(op, func(p *pending) {
			schema := full
			if op == load.OpDelete {
				schema = keys
			}
			rb := array.NewRecordBuilder(x.alloc, schema)
			st := &batchState{rb: rb, rows: diff.NewRowAppender(rb), extras: newBatchExtras(needs, schema)}
			if curType != nil && op != load.OpDelete {
				st.cur = array.NewBuilder(x.alloc, curType)
			}
			p.data = st
		})
		st := p.data.(*batchState)
		if err := appendChange(st, op, ch); err != nil {
			return fmt.Errorf("build batch %d: key %s: %w", p.seq, diff.KeyString(ch.key), err)
		}
		if err := st.extras.add(ch); err != nil {
			return fmt.Errorf("build batch %d: key %s: %w", p.seq, diff.KeyString(ch.key), err)
		}
		if err := bt.fill(p); err != nil {
			return err
		}
	}
	if rd.err != nil {
		return rd.err
	}
	return bt.flush()
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
// when it gets its first row. The numbering is a pure function of the
// change order, so the commit can replay it.
type batcher struct {
	size int
	next int
	open map[load.Op]*pending
	emit func(p *pending) error // nil: only replay the numbering (the commit)
}

type pending struct {
	op   load.Op
	seq  int
	rows int
	data any // the caller's builder state
}

// place assigns one change to the open batch of its op (opening one, with
// start, if needed) and returns the batch and the change's row index in it.
func (b *batcher) place(op load.Op, start func(p *pending)) (*pending, int) {
	p := b.open[op]
	if p == nil {
		p = &pending{op: op, seq: b.next}
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
	if p.rows < b.size {
		return nil
	}
	delete(b.open, p.op)
	if b.emit == nil {
		return nil
	}
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
		if b.emit != nil {
			if err := b.emit(first); err != nil {
				return err
			}
		}
	}
	return nil
}

func newBatcher(size int, emit func(p *pending) error) *batcher {
	return &batcher{size: size, open: map[load.Op]*pending{}, emit: emit}
}
