package loadtest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/sync/spec"
)

// rejects checks per-row rejection: Result.Failed names exactly the rows
// the destination refused, and every other row of the batch is delivered.
// The pipeline books the named rows as rejected and the rest as delivered,
// so a writer that names too few loses rows silently and one that names
// too many sends them again forever.
func (s *suite) rejects(t *testing.T) {
	if s.h.Reject == nil {
		t.Skip("the harness has no way to make a row the destination rejects")
	}
	for _, mode := range allModes {
		s.check(t, mode, func(t *testing.T) {
			s.needMode(t, mode)
			s.rejectsMode(t, mode)
		})
	}
}

func (s *suite) rejectsMode(t *testing.T, mode string) {
	obj := "r_" + mode
	bad := s.h.Reject(t, obj)
	op := load.OpFor(mode)

	// the object's rows before the run: the keys an update finds, or one
	// row that the others must leave alone (and replace must drop)
	var seed []row
	seedMode := mode
	if mode == spec.ModeUpdate {
		if seedMode = s.seedMode(); seedMode == "" {
			t.Skip("no keyed mode to fill the object with before updating it")
		}
		for id := 1; id <= 9; id++ {
			seed = append(seed, row{id, "old", 0})
		}
	} else {
		seed = []row{{100, "seed", 0}}
	}
	s.seed(t, obj, seedMode, seed...)

	mixed := make([]row, 6)
	for i := range mixed {
		id := i + 1
		mixed[i] = row{id, fmt.Sprintf("name %d", id), id * 10}
	}
	mixed[1][1], mixed[4][1] = bad, bad
	allBad := []row{{7, bad, 70}, {8, bad, 80}}
	oneBad := []row{{9, bad, 90}}

	r := s.begin(t, obj, mode, baseSchema)
	for _, b := range []struct {
		what string
		rows []row
		want []int
	}{
		{"a batch with rows 1 and 4 rejected", mixed, []int{1, 4}},
		{"a batch of rejected rows only", allBad, []int{0, 1}},
		{"a batch of one rejected row", oneBad, []int{0}},
	} {
		res := r.write(op, b.rows...)
		if got := failedRows(res); !slices.Equal(got, b.want) {
			t.Errorf("%s (name %q refused): Result.Failed names rows %v, want exactly %v (%v)", b.what, bad, got, b.want, res.Failed)
		}
	}
	r.commit()

	var want []row
	if mode != spec.ModeReplace {
		want = append(want, seed...)
	}
	for i, r := range mixed {
		if i == 1 || i == 4 {
			continue
		}
		if mode == spec.ModeUpdate {
			want[i] = r // ids 1..6 are seed rows 0..5
			continue
		}
		want = append(want, r)
	}
	s.expect(t, obj, "after batches with rejected rows (the others must be delivered)", baseSchema, want...)
}
