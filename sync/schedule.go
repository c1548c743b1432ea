package sync

import (
	"context"
	"fmt"
	"slices"

	"github.com/hoist-dev/hoist/sync/spec"
)

// Which sync runs when. `hoist run --parallel N` runs up to N syncs at once.
// Two kinds of edge order them:
//
//   - after: a sync's `after` list. It starts once those syncs have
//     finished, and only if they succeeded (ok or partial: a partial run
//     committed what it delivered); after a failed or skipped one it is
//     skipped itself, as make and Terraform skip the dependents of a failed
//     target.
//   - serial: two syncs that a sequential run would keep apart: both write
//     one destination object (each diffs against its own snapshot, so in
//     parallel their writes would interleave), or one writes a connection
//     the other reads (the reader must see all of the writer's rows or none,
//     as it did when syncs ran one by one). The later of the two waits for
//     the earlier, whatever its outcome, as a sequential run did.
//
// The order syncs start in is the spec's, as far as after allows: whenever
// a place is free, the first ready sync in that order starts. --parallel 1
// is therefore exactly the sequential run, and it is what every parallel
// run's reports are sorted back to.

// Schedule is the order of a set of syncs; build it with NewSchedule.
type Schedule struct {
	syncs []*spec.Sync // as selected, in spec order
	// order is the positions of syncs in the order they start with
	// --parallel 1: spec order, except that a sync comes after its after.
	order []int
	after [][]int // positions each sync needs to have succeeded
	wait  [][]int // positions each sync waits for, whatever their outcome
	// Unselected lists, per position, the after entries that name syncs not
	// in the set (--sync left them out): the sync runs without waiting for
	// them.
	Unselected [][]string
}

// NewSchedule orders syncs (a spec's, or those --sync picked, in spec
// order). after entries naming syncs outside the set are dropped: --sync
// runs exactly the syncs it names, as `dbt run --select` does, and the
// caller can say so from Unselected. It fails only on a cycle of after
// entries, which spec validation already refuses.
func NewSchedule(f *spec.File, syncs []*spec.Sync) (*Schedule, error) {
	n := len(syncs)
	pos := make(map[string]int, n)
	for i, s := range syncs {
		pos[s.Name] = i
	}
	sc := &Schedule{syncs: syncs, after: make([][]int, n), wait: make([][]int, n), Unselected: make([][]string, n)}
	for i, s := range syncs {
		for _, dep := range s.After {
			switch j, ok := pos[dep]; {
			case !ok:
				sc.Unselected[i] = append(sc.Unselected[i], dep)
			case j != i && !slices.Contains(sc.after[i], j):
				sc.after[i] = append(sc.after[i], j)
			}
		}
	}
	order, err := startOrder(sc.after)
	if err != nil {
		return nil, err
	}
	sc.order = order
	conflicts := newConflicts(f, syncs)
	for a, i := range order {
		for _, j := range order[:a] {
			if conflicts.between(i, j) && !slices.Contains(sc.after[i], j) {
				sc.wait[i] = append(sc.wait[i], j)
			}
		}
	}
	return sc, nil
}

// independent is a schedule of syncs that nothing orders, in spec order.
func independent(syncs []*spec.Sync) *Schedule {
	n := len(syncs)
	sc := &Schedule{syncs: syncs, order: make([]int, n), after: make([][]int, n), wait: make([][]int, n), Unselected: make([][]string, n)}
	for i := range sc.order {
		sc.order[i] = i
	}
	return sc
}

// startOrder is a topological order of after (Kahn's algorithm) that takes
// the first ready position each time, so that without after entries it is
// 0, 1, 2… A cycle is an error naming its syncs' positions.
func startOrder(after [][]int) ([]int, error) {
	n := len(after)
	blockers := make([]int, n)
	dependents := make([][]int, n)
	for i, deps := range after {
		blockers[i] = len(deps)
		for _, j := range deps {
			dependents[j] = append(dependents[j], i)
		}
	}
	done := make([]bool, n)
	order := make([]int, 0, n)
	for len(order) < n {
		next := -1
		for i := range n {
			if !done[i] && blockers[i] == 0 {
				next = i
				break
			}
		}
		if next < 0 {
			var stuck []int
			for i := range n {
				if !done[i] {
					stuck = append(stuck, i)
				}
			}
			return nil, fmt.Errorf("after entries form a cycle among syncs %v", stuck)
		}
		done[next] = true
		order = append(order, next)
		for _, d := range dependents[next] {
			blockers[d]--
		}
	}
	return order, nil
}

// conflicts tells which syncs a sequential run kept apart (see the serial
// edges above).
type conflicts struct {
	object      []string // destination key, "" when unknown
	source, dst []string // connection names
}

func newConflicts(f *spec.File, syncs []*spec.Sync) *conflicts {
	c := &conflicts{object: make([]string, len(syncs)), source: make([]string, len(syncs)), dst: make([]string, len(syncs))}
	for i, s := range syncs {
		if f != nil {
			c.object[i], _ = f.DestinationKey(s)
		}
		c.source[i], c.dst[i] = s.Source.Connection, s.Destination.Connection
	}
	return c
}

func (c *conflicts) between(i, j int) bool {
	return (c.object[i] != "" && c.object[i] == c.object[j]) ||
		c.source[i] == c.dst[j] || c.dst[i] == c.source[j]
}

// Outcome is how a scheduled sync ended.
type Outcome uint8

const (
	// NotStarted: the run was interrupted before the sync could start.
	NotStarted Outcome = iota
	// Succeeded: it ran and its dependents may run (ok or partial).
	Succeeded
	// Failed: it ran and failed; its dependents are skipped.
	Failed
	// Skipped: one of its after syncs failed or was skipped; it never ran.
	Skipped
)

// Exec runs the schedule, at most parallel syncs at once (parallel < 1
// counts as 1). run executes the sync at a position and says whether it
// succeeded; skip is told, in start order, of each sync skipped and the
// after sync that caused it. Exec calls skip from its own goroutine only,
// and run from one goroutine per sync. Once ctx ends no sync starts (nor is
// any skipped): the running ones end as ctx tells them to, and Exec
// returns when they have, with NotStarted for the rest.
func (sc *Schedule) Exec(ctx context.Context, parallel int, run func(ctx context.Context, pos int) bool, skip func(pos, because int)) []Outcome {
	parallel = max(parallel, 1)
	n := len(sc.syncs)
	out := make([]Outcome, n)
	started := make([]bool, n)
	finished := func(j int) bool { return out[j] != NotStarted }
	type result struct {
		pos int
		ok  bool
	}
	done := make(chan result)
	running := 0
	for {
		if ctx.Err() == nil {
			// Skips first: a skip can free a sync that only waited on
			// the skipped one. In start order a sync's after syncs come
			// before it, so one pass marks every skip a failure causes.
			for _, i := range sc.order {
				if started[i] || out[i] != NotStarted {
					continue
				}
				for _, j := range sc.after[i] {
					if out[j] == Failed || out[j] == Skipped {
						out[i] = Skipped
						skip(i, j)
						break
					}
				}
			}
			for _, i := range sc.order {
				if running == parallel {
					break
				}
				if started[i] || out[i] != NotStarted || !allOf(sc.after[i], finished) || !allOf(sc.wait[i], finished) {
					continue
				}
				started[i] = true
				running++
				go func() { done <- result{i, run(ctx, i)} }()
			}
		}
		if running == 0 {
			return out
		}
		r := <-done
		running--
		if r.ok {
			out[r.pos] = Succeeded
		} else {
			out[r.pos] = Failed
		}
	}
}

func allOf(list []int, pred func(int) bool) bool {
	for _, j := range list {
		if !pred(j) {
			return false
		}
	}
	return true
}
