package loadtest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/load"
)

// run is one run of one sync against one object, as the pipeline drives
// it: Open, Writes, then Commit or Abort. Every Arrow buffer of the run
// comes from a checked allocator, and finishing the run fails the check if
// the writer leaked one.
type run struct {
	t      *testing.T
	object string
	mode   string
	schema *arrow.Schema
	mem    *memory.CheckedAllocator
	d      load.Destination
	w      load.Writer
	seq    int
	// notHeld collects what the writer reported not held, by batch: from
	// each Result, then from a NotHeldReporter once the run has finished.
	notHeld map[int][]int
	done    bool
}

// begin opens the destination and a writer for one run.
func (s *suite) begin(t *testing.T, object, mode string, schema *arrow.Schema) *run {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	d := s.h.Open(t)
	tg := s.h.Target(t, object, mode, keyFor(mode), schema)
	tg.Alloc = mem
	if tg.Sync == "" {
		tg.Sync = "conformance-" + object
	}
	ctx, cancel := ctxFor(t)
	defer cancel()
	w, err := d.Open(ctx, tg)
	if err != nil {
		d.Close()
		t.Fatalf("open object %s in mode %s: %v", object, mode, err)
	}
	r := &run{t: t, object: object, mode: mode, schema: schema, mem: mem, d: d, w: w, notHeld: map[int][]int{}}
	t.Cleanup(func() {
		if !r.done { // the check failed half-way: do not leave the writer open
			ctx, cancel := ctxFor(t)
			defer cancel()
			r.w.Abort(ctx)
			r.d.Close()
		}
	})
	return r
}

// write sends rows as the next batch with op and returns the writer's
// answer, failing the check if the whole batch failed or the answer breaks
// the Result contract.
func (r *run) write(op load.Op, rows ...row) load.Result {
	r.t.Helper()
	res, err := r.tryWrite(op, rows...)
	if err != nil {
		r.t.Fatalf("object %s, mode %s: write batch %d (%s, %d rows): %v", r.object, r.mode, r.seq-1, op, len(rows), err)
	}
	return res
}

// tryWrite is write that hands a failed batch back.
func (r *run) tryWrite(op load.Op, rows ...row) (load.Result, error) {
	r.t.Helper()
	sch := r.schema
	if op == load.OpDelete {
		sch = keySchema(r.schema, keyFor(r.mode))
	}
	rec := record(r.t, r.mem, sch, rows)
	defer rec.Release()
	seq := r.seq
	r.seq++
	ctx, cancel := ctxFor(r.t)
	defer cancel()
	res, err := r.w.Write(ctx, load.Batch{Seq: seq, Op: op, Record: rec})
	if err != nil {
		return res, err
	}
	checkResult(r.t, fmt.Sprintf("object %s, mode %s, batch %d (%s)", r.object, r.mode, seq, op), op, len(rows), res)
	if len(res.NotHeld) > 0 {
		r.notHeld[seq] = append(r.notHeld[seq], res.NotHeld...)
	}
	return res, nil
}

// checkResult holds a Result to what load.Result promises: rows named
// once, within the batch, never both rejected and not held, and not held
// only in an update.
func checkResult(t *testing.T, what string, op load.Op, n int, res load.Result) {
	t.Helper()
	seen := map[int]bool{}
	for _, f := range res.Failed {
		switch {
		case f.Row < 0 || f.Row >= n:
			t.Errorf("%s: Result.Failed names row %d of a %d-row batch", what, f.Row, n)
		case seen[f.Row]:
			t.Errorf("%s: Result.Failed names row %d twice", what, f.Row)
		case f.Msg == "":
			t.Errorf("%s: Result.Failed row %d has no message", what, f.Row)
		}
		seen[f.Row] = true
	}
	if len(res.NotHeld) > 0 && op != load.OpUpdate {
		t.Errorf("%s: Result.NotHeld %v in a %s batch (only update batches may have rows not held)", what, res.NotHeld, op)
	}
	for _, i := range res.NotHeld {
		if i < 0 || i >= n || seen[i] {
			t.Errorf("%s: Result.NotHeld names row %d (batch of %d rows, rejected %v)", what, i, n, failedRows(res))
		}
	}
}

// commit ends the run with Commit and checks that nothing leaked.
func (r *run) commit() {
	r.t.Helper()
	ctx, cancel := ctxFor(r.t)
	defer cancel()
	if err := r.w.Commit(ctx); err != nil {
		r.finish()
		r.t.Fatalf("object %s, mode %s: commit: %v", r.object, r.mode, err)
	}
	r.finish()
}

// abort ends the run with Abort, as the pipeline does after a failure.
func (r *run) abort() {
	r.t.Helper()
	ctx, cancel := ctxFor(r.t)
	defer cancel()
	if err := r.w.Abort(ctx); err != nil {
		r.finish()
		r.t.Fatalf("object %s, mode %s: abort: %v", r.object, r.mode, err)
	}
	r.finish()
}

func (r *run) finish() {
	r.t.Helper()
	r.done = true
	if nh, ok := r.w.(load.NotHeldReporter); ok {
		for seq, rows := range nh.NotHeld() {
			r.notHeld[seq] = append(r.notHeld[seq], rows...)
		}
	}
	if err := r.d.Close(); err != nil {
		r.t.Errorf("object %s: close destination: %v", r.object, err)
	}
	if n := r.mem.CurrentAlloc(); n != 0 {
		r.t.Errorf("object %s, mode %s: the writer leaked %d bytes of Arrow buffers", r.object, r.mode, n)
		r.mem.AssertSize(r.t, 0) // names the allocations
	}
}

// notHeldOf is what the run reported not held in batch seq, sorted.
func (r *run) notHeldOf(seq int) []int {
	out := slices.Clone(r.notHeld[seq])
	slices.Sort(out)
	return slices.Compact(out)
}

func failedRows(res load.Result) []int {
	out := make([]int, 0, len(res.Failed))
	for _, f := range res.Failed {
		out = append(out, f.Row)
	}
	slices.Sort(out)
	return out
}
