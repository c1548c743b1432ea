package loadtest

import (
	"fmt"
	stdsync "sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/sync/spec"
)

// concurrency writes from as many goroutines at once as the writer's
// Concurrency allows (the sync's default concurrency when it sets no
// limit), as the pipeline does, and expects every row delivered. Run
// under -race it also finds the writer's data races.
func (s *suite) concurrency(t *testing.T) {
	mode := s.firstMode(spec.ModeUpsert, spec.ModeInsert, spec.ModeMirror, spec.ModeAppend)
	if mode == "" {
		t.Skip("no mode that takes concurrent writes is claimed")
	}
	obj := "c_" + mode
	r := s.begin(t, obj, mode, baseSchema)
	n := r.w.Concurrency()
	switch {
	case n == 1:
		r.abort()
		t.Skipf("the writer takes one Write at a time (Concurrency 1 in mode %s)", mode)
	case n <= 0:
		n = spec.DefaultConcurrency
	}
	const batchesEach, rowsEach = 3, 20
	type job struct {
		seq int
		rec arrow.RecordBatch
	}
	jobs := make([][]job, n)
	var want []row
	seq := 0
	for g := range n {
		for b := range batchesEach {
			rows := make([]row, rowsEach)
			for i := range rows {
				id := g*1000 + b*100 + i
				rows[i] = row{id, fmt.Sprintf("g%d b%d r%d", g, b, i), id}
			}
			want = append(want, rows...)
			jobs[g] = append(jobs[g], job{seq, record(t, r.mem, baseSchema, rows)})
			seq++
		}
	}
	start := make(chan struct{})
	var wg stdsync.WaitGroup
	for g := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ctx, cancel := ctxFor(t)
			defer cancel()
			for _, j := range jobs[g] {
				res, err := r.w.Write(ctx, load.Batch{Seq: j.seq, Op: load.OpFor(mode), Record: j.rec})
				j.rec.Release()
				if err != nil {
					t.Errorf("goroutine %d of %d: write batch %d: %v", g, n, j.seq, err)
					continue
				}
				if len(res.Failed) > 0 {
					t.Errorf("goroutine %d of %d: batch %d: rows %v rejected: %v", g, n, j.seq, failedRows(res), res.Failed)
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	r.seq = seq
	r.commit()
	s.expect(t, obj, fmt.Sprintf("after %d goroutines wrote %d batches each at once", n, batchesEach), baseSchema, want...)
}
