package sync

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/sync/diff"
)

// What a run keeps beyond the rows for a writer that asks for it
// (load.BatchNeeds): the record IDs the snapshot holds beside the keys, and
// which fields of a changed row differ from the snapshot's. The diff keeps
// them in the changeset (extras), the batch stage hands them to the writer
// with each batch (batchExtras), the load stage keeps the IDs the writer
// learnt (acks.ids), and the commit writes them beside the rows (learntID).

// extras returns what the changeset keeps of e for the writer: the
// snapshot's row of a change (to tell its changed fields) and the key's
// record ID; nil for what the writer does not need.
func (u *syncRun) extras(e diff.Event) (old, id []byte) {
	if u.needs.Changed && e.Kind == diff.Change {
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
}

func newBatchExtras(needs load.BatchNeeds, schema *arrow.Schema) *batchExtras {
	if !needs.IDs && !needs.Changed {
		return nil
	}
	x := &batchExtras{needs: needs}
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

// fill hands the extras to the batch.
func (x *batchExtras) fill(b *load.Batch) {
	if x == nil {
		return
	}
	b.IDs, b.Changed = x.ids, x.changed
}

func sortInts(s []int) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j-1] > s[j]; j-- {
			s[j-1], s[j] = s[j], s[j-1]
		}
	}
}

// keepIDs books the record IDs a writer learnt for batch seq of n rows
// (load.Result.IDs); with acks.mu held.
func (a *acks) keepIDs(seq, n int, ids []string) error {
	if ids == nil {
		return nil
	}
	if len(ids) != n {
		return fmt.Errorf("load batch %d: destination gave %d record IDs for %d rows", seq, len(ids), n)
	}
	if a.ids == nil {
		a.ids = map[int][]string{}
	}
	a.ids[seq] = ids
	return nil
}

// learntID is the record ID the state keeps for row of batch seq: the one
// the writer learnt, else the one the snapshot had (nil when neither).
func (a *acks) learntID(seq, row int, had []byte) []byte {
	if ids := a.ids[seq]; row < len(ids) && ids[row] != "" {
		return []byte(ids[row])
	}
	return had
}
