package loadtest

import (
	"testing"

	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/sync/spec"
)

// abort checks what a failed run leaves: an aborted replace leaves the old
// content whole; in every other mode the batches already acknowledged stay
// delivered (load.Writer).
func (s *suite) abort(t *testing.T) {
	s.check(t, "replace keeps the old content", s.abortReplace)
	for _, mode := range []string{spec.ModeInsert, spec.ModeUpdate, spec.ModeUpsert, spec.ModeMirror, spec.ModeAppend} {
		s.check(t, mode+" keeps acknowledged batches", func(t *testing.T) {
			s.needMode(t, mode)
			s.abortKeeps(t, mode)
		})
	}
}

func (s *suite) abortReplace(t *testing.T) {
	s.needMode(t, spec.ModeReplace)
	const obj = "a_replace"
	old := []row{{1, "a", 10}, {2, "b", 20}}
	s.seed(t, obj, spec.ModeReplace, old...)
	r := s.begin(t, obj, spec.ModeReplace, baseSchema)
	noRejects(t, "replace", r.write(load.OpAppend, row{9, "z", 90}))
	noRejects(t, "replace", r.write(load.OpAppend, row{8, "y", 80}))
	r.abort()
	s.expect(t, obj, "after an aborted replace", baseSchema, old...)
	// and the object is not left unusable: the next replace goes through
	s.seed(t, obj, spec.ModeReplace, row{7, "x", 70})
	s.expect(t, obj, "after the replace that followed the aborted one", baseSchema, row{7, "x", 70})
}

func (s *suite) abortKeeps(t *testing.T, mode string) {
	obj := "a_" + mode
	seedMode := mode
	if mode == spec.ModeUpdate {
		if seedMode = s.seedMode(); seedMode == "" {
			t.Skip("no keyed mode to fill the object with before updating it")
		}
	}
	s.seed(t, obj, seedMode, row{1, "a", 10})
	r := s.begin(t, obj, mode, baseSchema)
	var want []row
	switch mode {
	case spec.ModeUpdate:
		noRejects(t, mode, r.write(load.OpUpdate, row{1, "A", 11}))
		want = []row{{1, "A", 11}}
	case spec.ModeAppend:
		noRejects(t, mode, r.write(load.OpAppend, row{2, "b", 20}))
		want = []row{{1, "a", 10}, {2, "b", 20}}
	default:
		noRejects(t, mode, r.write(load.OpFor(mode), row{2, "b", 20}))
		want = []row{{1, "a", 10}, {2, "b", 20}}
	}
	r.abort()
	s.expect(t, obj, "after a "+mode+" run that wrote a batch and aborted", baseSchema, want...)
}
