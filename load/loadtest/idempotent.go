package loadtest

import (
	"testing"

	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/sync/spec"
)

// idempotent checks that a keyed batch written twice applies once: the
// pipeline resends a batch whose answer it lost (in the same run, after a
// timeout) and every batch of a run that failed (in the next run).
func (s *suite) idempotent(t *testing.T) {
	for _, mode := range []string{spec.ModeInsert, spec.ModeUpdate, spec.ModeUpsert, spec.ModeMirror} {
		s.check(t, mode, func(t *testing.T) {
			s.needMode(t, mode)
			s.idempotentMode(t, mode)
		})
	}
}

func (s *suite) idempotentMode(t *testing.T, mode string) {
	obj := "i_" + mode
	seedMode := mode
	if mode == spec.ModeUpdate {
		if seedMode = s.seedMode(); seedMode == "" {
			t.Skip("no keyed mode to fill the object with before updating it")
		}
	}
	seed := []row{{1, "a", 10}, {2, "b", 20}}
	s.seed(t, obj, seedMode, seed...)

	var batch, deletes, want []row
	switch mode {
	case spec.ModeInsert:
		batch = []row{{2, "B", 21}, {3, "c", 30}}
		want = []row{{1, "a", 10}, {2, "b", 20}, {3, "c", 30}}
	case spec.ModeUpdate:
		batch = []row{{1, "A", 11}, {2, nil, 21}}
		want = []row{{1, "A", 11}, {2, nil, 21}}
	case spec.ModeUpsert:
		batch = []row{{1, "A", 11}, {3, "c", 30}}
		want = []row{{1, "A", 11}, {2, "b", 20}, {3, "c", 30}}
	case spec.ModeMirror:
		batch = []row{{1, "A", 11}, {3, "c", 30}}
		deletes = keysOf(row{2})
		want = []row{{1, "A", 11}, {3, "c", 30}}
	}
	op := load.OpFor(mode)
	for _, when := range []string{"after the batches were written twice in one run", "after the run was repeated"} {
		r := s.begin(t, obj, mode, baseSchema)
		for _, which := range []string{"written", "written again"} {
			noRejects(t, mode+" batch "+which, r.write(op, batch...))
			if deletes != nil {
				noRejects(t, "delete batch "+which, r.write(load.OpDelete, deletes...))
			}
		}
		r.commit()
		s.expect(t, obj, when, baseSchema, want...)
		if mode == spec.ModeUpdate {
			for seq := range r.seq {
				s.checkNotHeld(t, r, seq, nil)
			}
		}
	}
}
