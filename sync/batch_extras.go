package sync

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/sync/diff"
)

// What a run keeps beyond the rows for a writer that asks for it
// (load.BatchNeeds): the record IDs the snapshot holds beside the keys, and
// which fields of a changed row differ from the snapshot's. The diff keeps
// them in the changeset (extras), the batch stage hands them to the writer
// with each batch (batchExtras), the load stage keeps the IDs the writer
// learnt (acks.ids, a temp file: record_ids.go), and the commit writes them
// beside the rows (learntID).

// extras returns what the changeset keeps of e for the writer: the
// snapshot's row of a change (to tell its changed fields) and the key's
// record ID; nil for what the writer does not need. A writer that wants
// each change's before gets the snapshot's row of deletes too.
func (u *syncRun) extras(e diff.Event) (old, id []byte) {
	if u.needs.Changed && e.Kind == diff.Change {
		old = e.Old
	}
	if u.needs.Before && (e.Kind == diff.Change || e.Kind == diff.Remove) {
		old = e.Old
	}
	if u.needs.IDs {
		id = e.ID
	}
	return old, id
}

// batchExtras collects the IDs and changed fields of a batch being built,
// row by row, aligned with its record.
type batchExtras struct {
	needs   load.BatchNeeds
	fields  map[string]int // field name → index in the batch's schema
	ids     []string
	changed [][]int
	// before: the snapshot's rows, with the full mapped schema
	before    *array.RecordBuilder
	beforeRow *diff.RowAppender
	hasBefore []bool
}

// newBatchExtras prepares the extras of a batch of schema; full is the
// mapped schema (a delete batch's own holds only the key).
func newBatchExtras(needs load.BatchNeeds, alloc memory.Allocator, schema, full *arrow.Schema) *batchExtras {
	if needs == (load.BatchNeeds{}) {
		return nil
	}
	x := &batchExtras{needs: needs}
	if needs.Before {
		x.before = array.NewRecordBuilder(alloc, full)
		x.beforeRow = diff.NewRowAppender(x.before)
	}
	if needs.Changed {
		x.fields = make(map[string]int, schema.NumFields())
		for i, f := range schema.Fields() {
			x.fields[f.Name] = i
		}
	}
	return x
}

// add records one change's extras; x may be nil (nothing needed).
func (x *batchExtras) add(ch *change) error {
	if x == nil {
		return nil
	}
	if x.needs.IDs {
		x.ids = append(x.ids, string(ch.id))
	}
	if x.needs.Before {
		if err := x.addBefore(ch); err != nil {
			return err
		}
	}
	if !x.needs.Changed {
		return nil
	}
	if ch.kind != diff.Change || ch.old == nil {
		x.changed = append(x.changed, nil)
		return nil
	}
	var idx []int
	err := diff.ChangedFields(ch.old, ch.row, func(name []byte) {
		// a field the mapping no longer has is not in the batch at all
		if i, ok := x.fields[string(name)]; ok {
			idx = append(idx, i)
		}
	})
	if err != nil {
		return fmt.Errorf("changed fields: %w", err)
	}
	sortInts(idx)
	x.changed = append(x.changed, idx)
	return nil
}

// addBefore appends the snapshot's row of a change or delete, or a row of
// NULLs for a key the snapshot lacks.
func (x *batchExtras) addBefore(ch *change) error {
	has := ch.old != nil && (ch.kind == diff.Change || ch.kind == diff.Remove)
	x.hasBefore = append(x.hasBefore, has)
	if has {
		if err := x.beforeRow.AppendLoose(ch.old); err != nil {
			return fmt.Errorf("snapshot row: %w", err)
		}
		return nil
	}
	for i := range x.before.Fields() {
		x.before.Field(i).AppendNull()
	}
	return nil
}

// fill hands the extras to the batch.
func (x *batchExtras) fill(b *load.Batch) {
	if x == nil {
		return
	}
	b.IDs, b.Changed = x.ids, x.changed
	if x.before != nil {
		b.Before, b.HasBefore = x.before.NewRecord(), x.hasBefore
		x.release()
	}
}

// release frees what a batch never sent still holds; x may be nil.
func (x *batchExtras) release() {
	if x != nil && x.before != nil {
		x.before.Release()
		x.before = nil
	}
}

func sortInts(s []int) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j-1] > s[j]; j-- {
			s[j-1], s[j] = s[j], s[j-1]
		}
	}
}

// keepIDs books the record IDs a writer learnt for batch seq of n rows
// (load.Result.IDs), for a writer that keeps them (a.ids set); with
// acks.mu held.
func (a *acks) keepIDs(seq, n int, ids []string) error {
	if ids == nil {
		return nil
	}
	if len(ids) != n {
		return fmt.Errorf("load batch %d: destination gave %d record IDs for %d rows", seq, len(ids), n)
	}
	return a.ids.keep(seq, ids)
}

// learntID is the record ID the state keeps for row of batch seq: the one
// the writer learnt, else the one the snapshot had (nil when neither).
func (a *acks) learntID(seq, row int, had []byte) ([]byte, error) {
	if a.ids == nil {
		return had, nil
	}
	id, err := a.ids.get(seq, row)
	if err != nil || id == "" {
		return had, err
	}
	return []byte(id), nil
}
