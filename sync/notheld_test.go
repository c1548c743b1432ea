package sync

import (
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/load"
)

// reportingWriter is a writer that reports rows not held after it
// finished, as the files destination does.
type reportingWriter struct {
	load.Writer
	late map[int][]int
}

func (w reportingWriter) NotHeld() map[int][]int { return w.late }

// TestRecordNotHeld (issue 10, item 7): rows a destination reports not held
// are answered (the cursor may pass them) but neither delivered nor
// rejected: they leave the delivered count, the rejected-rows file and the
// snapshot's delta. A report that breaks the Writer contract fails the run.
func TestRecordNotHeld(t *testing.T) {
	tests := []struct {
		name      string
		op        load.Op
		res       load.Result
		late      map[int][]int // reported after the run's writes
		err       string
		delivered []bool // per row, as the snapshot delta sees them
		rows      int64
		absent    int64
		rejects   int64
	}{
		{name: "some rows not held", op: load.OpUpdate, res: load.Result{NotHeld: []int{0, 2}},
			delivered: []bool{false, true, false, true}, rows: 2, absent: 2},
		{name: "not held beside a rejected row", op: load.OpUpdate,
			res:       load.Result{NotHeld: []int{3}, Failed: []load.RowError{{Row: 1, Msg: "bad"}}},
			delivered: []bool{true, false, true, false}, rows: 2, absent: 1, rejects: 1},
		{name: "reported after the merge", op: load.OpUpdate, late: map[int][]int{0: {1, 2}},
			delivered: []bool{true, false, false, true}, rows: 2, absent: 2},
		{name: "reported late and already rejected", op: load.OpUpdate, late: map[int][]int{0: {1}},
			res:       load.Result{Failed: []load.RowError{{Row: 1, Msg: "bad"}}},
			delivered: []bool{true, false, true, true}, rows: 3, rejects: 1},
		{name: "late report of a batch never answered", op: load.OpUpdate, late: map[int][]int{5: {0}},
			err: "batch 5, which it did not answer"},
		{name: "not held in an upsert batch", op: load.OpUpsert, res: load.Result{NotHeld: []int{0}},
			err: "batch 0 (upsert): destination reported rows not held, which only an update batch has"},
		{name: "row out of range", op: load.OpUpdate, res: load.Result{NotHeld: []int{4}},
			err: "row 4 of 4 not held"},
		{name: "row both rejected and not held", op: load.OpUpdate,
			res: load.Result{NotHeld: []int{1}, Failed: []load.RowError{{Row: 1, Msg: "bad"}}},
			err: "both rejected and not held"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			b := array.NewInt64Builder(mem)
			b.AppendValues([]int64{1, 2, 3, 4}, nil)
			col := b.NewArray()
			b.Release()
			rec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil), []arrow.Array{col}, 4)
			col.Release()
			defer rec.Release()
			rejects := &rejectFile{path: filepath.Join(t.TempDir(), "rejected.jsonl")}
			defer rejects.close()
			l := &loadStage{w: reportingWriter{late: tt.late}, acks: newAcks(), rejects: rejects, maxReject: -1, log: slog.New(slog.DiscardHandler)}
			err := l.record(&outBatch{Batch: load.Batch{Seq: 0, Op: tt.op, Record: rec}, keyIdx: []int{0}}, tt.res, time.Now())
			if err == nil {
				err = l.lateNotHeld()
			}
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			a := l.acks
			if a.rows != tt.rows || a.absent != tt.absent || a.rejects != tt.rejects || rejects.n != tt.rejects {
				t.Errorf("delivered %d, not held %d, rejected %d (file %d); want %d, %d, %d", a.rows, a.absent, a.rejects, rejects.n, tt.rows, tt.absent, tt.rejects)
			}
			for i, want := range tt.delivered {
				if got := a.delivered(0, i); got != want {
					t.Errorf("row %d delivered = %v, want %v", i, got, want)
				}
			}
		})
	}
}
