package load_test

import (
	"context"
	"maps"
	"slices"
	"testing"

	"github.com/hoist-dev/hoist/internal/filefmt"
	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/sync/spec"
)

// TestFilesUpdateNotHeld (issue 10, item 7): the files destination learns
// only when it merges (Commit, or Abort, which merges too) which update
// rows' keys the object lacks, and then reports exactly those, by batch, as
// a load.NotHeldReporter; the object keeps none of them.
func TestFilesUpdateNotHeld(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		seed    bool // an upsert run writes ids 1-4 first
		abort   bool
		batches [][]filesRow
		notHeld map[int][]int
		want    []filesRow
	}{
		{"some keys absent", true, false,
			[][]filesRow{{{9, 1}, {2, 1}, {7, 1}}, {{4, 1}, {8, 1}}},
			map[int][]int{0: {0, 2}, 1: {1}}, []filesRow{{1, 0}, {2, 1}, {3, 0}, {4, 1}}},
		{"every key held", true, false,
			[][]filesRow{{{1, 1}, {3, 1}}},
			map[int][]int{}, []filesRow{{1, 1}, {2, 0}, {3, 1}, {4, 0}}},
		{"abort merges and reports too", true, true,
			[][]filesRow{{{5, 1}, {1, 2}}},
			map[int][]int{0: {0}}, []filesRow{{1, 2}, {2, 0}, {3, 0}, {4, 0}}},
		{"no object yet: nothing is held", false, false,
			[][]filesRow{{{1, 1}, {2, 1}}},
			map[int][]int{0: {0, 1}}, nil},
	}
	for _, format := range filesFormats {
		for _, tt := range tests {
			t.Run(format+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				mem := filesChecked(t)
				dir := t.TempDir()
				if tt.seed {
					base := []filesRow{{1, 0}, {2, 0}, {3, 0}, {4, 0}}
					if err := filesRun(t, mem, dir, "c", format, spec.ModeUpsert, false, filesBatch{load.OpUpsert, base}); err != nil {
						t.Fatal(err)
					}
				}
				ctx := context.Background()
				d, err := load.Open(ctx, &spec.Connection{Name: "out", Type: filefmt.Type, Config: &filefmt.Config{Path: "out", Format: format}}, dir)
				if err != nil {
					t.Fatal(err)
				}
				defer d.Close()
				w, err := d.Open(ctx, load.Target{Sync: "test", Schema: filesSchema, Alloc: mem,
					Dest: &spec.Dest{Connection: "out", Object: "c", Mode: spec.ModeUpdate, PrimaryKey: []string{"id"}}})
				if err != nil {
					t.Fatal(err)
				}
				r, ok := w.(load.NotHeldReporter)
				if !ok {
					t.Fatalf("files update writer %T does not report rows not held", w)
				}
				for seq, rows := range tt.batches {
					rec := filesRecord(mem, rows...)
					res, err := w.Write(ctx, load.Batch{Seq: seq, Op: load.OpUpdate, Record: rec})
					rec.Release()
					if err != nil || len(res.Failed) > 0 || len(res.NotHeld) > 0 {
						t.Fatalf("batch %d: %v %+v (the merge, not Write, knows what is held)", seq, err, res)
					}
				}
				if r.NotHeld() != nil {
					t.Errorf("not held known before the merge: %v", r.NotHeld())
				}
				finish := w.Commit
				if tt.abort {
					finish = w.Abort
				}
				if err := finish(ctx); err != nil {
					t.Fatal(err)
				}
				got := r.NotHeld()
				for _, rows := range got {
					slices.Sort(rows)
				}
				if !maps.EqualFunc(got, tt.notHeld, slices.Equal) {
					t.Errorf("not held %v, want %v", got, tt.notHeld)
				}
				if tt.seed {
					assertRows(t, filesRead(t, mem, dir, "", format), want(tt.want...))
				}
			})
		}
	}
}
