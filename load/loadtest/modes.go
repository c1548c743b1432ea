package loadtest

import (
	"slices"
	"testing"

	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/sync/spec"
)

// modes checks that every claimed mode does what it means, against an
// object holding rows from an earlier run.
func (s *suite) modes(t *testing.T) {
	s.check(t, "insert leaves existing keys alone", s.modeInsert)
	s.check(t, "update leaves missing keys alone", s.modeUpdate)
	s.check(t, "upsert inserts and updates", s.modeUpsert)
	s.check(t, "mirror upserts and deletes", s.modeMirror)
	s.check(t, "routed inserts and updates", s.modeRouted)
	s.check(t, "append appends", s.modeAppend)
	s.check(t, "replace swaps at commit", s.modeReplace)
	s.check(t, "replace with no rows empties", s.modeReplaceEmpty)
}

// seed fills object with rows in one committed run of mode.
func (s *suite) seed(t *testing.T, object, mode string, rows ...row) {
	t.Helper()
	r := s.begin(t, object, mode, baseSchema)
	if len(rows) > 0 {
		if res := r.write(load.OpFor(mode), rows...); len(res.Failed) > 0 {
			t.Fatalf("seeding %s in mode %s: rows %v rejected: %v", object, mode, failedRows(res), res.Failed)
		}
	}
	r.commit()
}

func noRejects(t *testing.T, what string, res load.Result) {
	t.Helper()
	if len(res.Failed) > 0 {
		t.Errorf("%s: rows %v rejected, want none: %v", what, failedRows(res), res.Failed)
	}
}

func (s *suite) modeInsert(t *testing.T) {
	s.needMode(t, spec.ModeInsert)
	const obj = "m_insert"
	s.seed(t, obj, spec.ModeInsert, row{1, "a", 10}, row{2, "b", 20})
	s.expect(t, obj, "after the first insert run", baseSchema, row{1, "a", 10}, row{2, "b", 20})
	r := s.begin(t, obj, spec.ModeInsert, baseSchema)
	noRejects(t, "insert of an existing and a new key", r.write(load.OpInsert, row{2, "B", 99}, row{3, "c", 30}))
	r.commit()
	s.expect(t, obj, "after inserting key 2 again and key 3", baseSchema, row{1, "a", 10}, row{2, "b", 20}, row{3, "c", 30})
}

func (s *suite) modeUpdate(t *testing.T) {
	s.needMode(t, spec.ModeUpdate)
	seed := s.seedMode()
	if seed == "" {
		t.Skip("no keyed mode to fill the object with before updating it")
	}
	const obj = "m_update"
	s.seed(t, obj, seed, row{1, "a", 10}, row{2, "b", 20}, row{3, "c", 30})
	r := s.begin(t, obj, spec.ModeUpdate, baseSchema)
	noRejects(t, "update", r.write(load.OpUpdate, row{2, "B", 99}, row{4, "x", 1}, row{3, nil, nil}))
	noRejects(t, "update of held keys", r.write(load.OpUpdate, row{1, "A", 11}))
	r.commit()
	s.expect(t, obj, "after updating keys 1, 2, 3 and the missing key 4", baseSchema, row{1, "A", 11}, row{2, "B", 99}, row{3, nil, nil})
	s.checkNotHeld(t, r, 0, []int{1})
	s.checkNotHeld(t, r, 1, nil)
}

// checkNotHeld holds the run's not-held report of batch seq to want: it
// must name exactly the update rows whose key the object lacked, unless the
// destination cannot tell (then it names none of the others).
func (s *suite) checkNotHeld(t *testing.T, r *run, seq int, want []int) {
	t.Helper()
	got := r.notHeldOf(seq)
	if s.h.BlindUpdates {
		for _, i := range got {
			if !slices.Contains(want, i) {
				t.Errorf("update batch %d: row %d reported not held, but its key was held", seq, i)
			}
		}
		return
	}
	if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
		t.Errorf("update batch %d: not held %v, want %v (rows whose key the object lacks; Result.NotHeld or NotHeldReporter)", seq, got, want)
	}
}

func (s *suite) modeUpsert(t *testing.T) {
	s.needMode(t, spec.ModeUpsert)
	const obj = "m_upsert"
	s.seed(t, obj, spec.ModeUpsert, row{1, "a", 10}, row{2, "b", 20})
	r := s.begin(t, obj, spec.ModeUpsert, baseSchema)
	noRejects(t, "upsert", r.write(load.OpUpsert, row{2, "B", nil}, row{3, "c", 30}))
	r.commit()
	s.expect(t, obj, "after upserting key 2 (name changed, n set to NULL) and key 3", baseSchema, row{1, "a", 10}, row{2, "B", nil}, row{3, "c", 30})
}

func (s *suite) modeMirror(t *testing.T) {
	s.needMode(t, spec.ModeMirror)
	const obj = "m_mirror"
	s.seed(t, obj, spec.ModeMirror, row{1, "a", 10}, row{2, "b", 20}, row{3, "c", 30})
	r := s.begin(t, obj, spec.ModeMirror, baseSchema)
	noRejects(t, "mirror upsert", r.write(load.OpUpsert, row{2, "B", 99}, row{4, "d", 40}))
	noRejects(t, "mirror delete", r.write(load.OpDelete, keysOf(row{1}, row{9})...))
	r.commit()
	s.expect(t, obj, "after upserting keys 2 and 4 and deleting key 1 and the missing key 9", baseSchema,
		row{2, "B", 99}, row{3, "c", 30}, row{4, "d", 40})
}

// modeRouted checks a writer that routes new and changed rows to different
// requests (load.KindRouter): new rows come as OpInsert, changed ones as
// OpUpdate, and a row the snapshot was wrong about (new but held, changed
// but missing) still ends as the source has it.
func (s *suite) modeRouted(t *testing.T) {
	mode := spec.ModeMirror
	if !slices.Contains(s.h.Modes, mode) {
		mode = spec.ModeUpsert
	}
	s.needMode(t, mode)
	const obj = "m_routed"
	s.seed(t, obj, mode, row{1, "a", 10}, row{2, "b", 20})
	r := s.begin(t, obj, mode, baseSchema)
	kr, ok := r.w.(load.KindRouter)
	if !ok || !kr.RoutesByKind() {
		r.commit()
		t.Skip("the writer does not route new and changed rows apart (load.KindRouter)")
	}
	noRejects(t, "routed insert of new keys 3 and 4, and of key 2 the object holds", r.write(load.OpInsert, row{3, "c", 30}, row{2, "B", 21}, row{4, "d", nil}))
	noRejects(t, "routed update of key 1", r.write(load.OpUpdate, row{1, "A", nil}))
	want := []row{{1, "A", nil}, {2, "B", 21}, {3, "c", 30}, {4, "d", nil}}
	if !s.h.BlindUpdates {
		noRejects(t, "routed update of key 5 the object lacks", r.write(load.OpUpdate, row{5, "e", 50}))
		want = append(want, row{5, "e", 50})
	}
	r.commit()
	s.expect(t, obj, "after routed inserts and updates", baseSchema, want...)
}

func (s *suite) modeAppend(t *testing.T) {
	s.needMode(t, spec.ModeAppend)
	const obj = "m_append"
	s.seed(t, obj, spec.ModeAppend, row{1, "a", 10})
	r := s.begin(t, obj, spec.ModeAppend, baseSchema)
	noRejects(t, "append", r.write(load.OpAppend, row{1, "a", 10}, row{2, "b", 20}))
	noRejects(t, "append", r.write(load.OpAppend, row{2, "b", 20}))
	r.commit()
	s.expect(t, obj, "after appending rows equal to existing ones", baseSchema,
		row{1, "a", 10}, row{1, "a", 10}, row{2, "b", 20}, row{2, "b", 20})
}

func (s *suite) modeReplace(t *testing.T) {
	s.needMode(t, spec.ModeReplace)
	const obj = "m_replace"
	old := []row{{1, "a", 10}, {2, "b", 20}}
	s.seed(t, obj, spec.ModeReplace, old...)
	s.expect(t, obj, "after the first replace run", baseSchema, old...)
	r := s.begin(t, obj, spec.ModeReplace, baseSchema)
	noRejects(t, "replace", r.write(load.OpAppend, row{3, "c", 30}))
	noRejects(t, "replace", r.write(load.OpAppend, row{2, "b", 20}, row{4, nil, nil}))
	if !s.h.ReplaceBlocksReaders {
		s.expect(t, obj, "during a replace, before Commit", baseSchema, old...)
	}
	r.commit()
	s.expect(t, obj, "after the replace committed", baseSchema, row{3, "c", 30}, row{2, "b", 20}, row{4, nil, nil})
}

func (s *suite) modeReplaceEmpty(t *testing.T) {
	s.needMode(t, spec.ModeReplace)
	const obj = "m_replace_empty"
	s.seed(t, obj, spec.ModeReplace, row{1, "a", 10})
	s.seed(t, obj, spec.ModeReplace)
	s.expect(t, obj, "after a replace run with no rows", baseSchema)
}
