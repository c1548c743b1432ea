package sync_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	stdsync "sync"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/hoist-dev/hoist/load"
	hsync "github.com/hoist-dev/hoist/sync"
	"github.com/hoist-dev/hoist/sync/spec"
	"github.com/hoist-dev/hoist/sync/state"
)

// faults injects load failures into the real sqlite destination: a batch
// fails before it is written, or after (the destination applied it but the
// acknowledgement is lost, as with a timeout).
type faults struct {
	mu     stdsync.Mutex
	rng    *rand.Rand
	rate   float64
	before int
	after  int
}

var injector = &faults{}

func (f *faults) roll() (failBefore, failAfter bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rng == nil || f.rate == 0 {
		return false, false
	}
	r := f.rng.Float64()
	switch {
	case r < f.rate/2:
		f.before++
		return true, false
	case r < f.rate:
		f.after++
		return false, true
	}
	return false, false
}

func (f *faults) set(rng *rand.Rand, rate float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rng, f.rate = rng, rate
}

var errInjected = errors.New("injected load failure")

type faultyDest struct{ load.Destination }

type faultyWriter struct{ load.Writer }

func (d faultyDest) Open(ctx context.Context, t load.Target) (load.Writer, error) {
	w, err := d.Destination.Open(ctx, t)
	if err != nil {
		return nil, err
	}
	return faultyWriter{w}, nil
}

func (w faultyWriter) Write(ctx context.Context, b load.Batch) (load.Result, error) {
	before, after := injector.roll()
	if before {
		return load.Result{}, errInjected
	}
	res, err := w.Writer.Write(ctx, b)
	if err == nil && after {
		return load.Result{}, errInjected
	}
	return res, err
}

func init() {
	real, ok := load.Lookup(spec.TypeSQLite)
	if !ok {
		panic("sqlite destination not registered")
	}
	load.Register(spec.TypeSQLite, func(ctx context.Context, c *spec.Connection, dir string) (load.Destination, error) {
		d, err := real(ctx, c, dir)
		if err != nil {
			return nil, err
		}
		return faultyDest{d}, nil
	})
}

type row struct {
	name  string
	score int
}

// writeCSV writes the model source as the sync's CSV input.
func writeCSV(t *testing.T, path string, src map[int]row) {
	t.Helper()
	var b strings.Builder
	b.WriteString("id,name,score\n")
	ids := make([]int, 0, len(src))
	for id := range src {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	for _, id := range ids {
		fmt.Fprintf(&b, "%d,%s,%d\n", id, src[id].name, src[id].score)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readTable(t *testing.T, dbPath string) map[int]row {
	t.Helper()
	db, err := sql.Open("sqlite", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT id, name, score FROM people`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int]row{}
	for rows.Next() {
		var id int
		var r row
		if err := rows.Scan(&id, &r.name, &r.score); err != nil {
			t.Fatal(err)
		}
		if _, dup := out[id]; dup {
			t.Fatalf("destination holds id %d twice", id)
		}
		out[id] = r
	}
	return out
}

// mutate applies random source edits: adds, changes, deletes, key changes.
func mutate(rng *rand.Rand, src map[int]row, nextID *int, deletes bool) {
	for i := rng.IntN(6); i > 0; i-- {
		*nextID++
		src[*nextID] = row{name: fmt.Sprintf("n%d", rng.IntN(1000)), score: rng.IntN(100)}
	}
	ids := make([]int, 0, len(src))
	for id := range src {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	for i := rng.IntN(6); i > 0 && len(ids) > 0; i-- {
		id := ids[rng.IntN(len(ids))]
		src[id] = row{name: fmt.Sprintf("c%d", rng.IntN(1000)), score: rng.IntN(100)}
	}
	if deletes {
		for i := rng.IntN(3); i > 0 && len(src) > 2; i-- {
			id := ids[rng.IntN(len(ids))]
			if _, ok := src[id]; ok {
				if rng.IntN(2) == 0 { // a key change: the row moves to a new key
					*nextID++
					src[*nextID] = src[id]
				}
				delete(src, id)
			}
		}
	}
}

// TestPropertyRandomEditsAndFailures: random sequences of source edits and
// injected load failures (before and after the write); after each final
// run without faults the destination equals the mapped source exactly
// (mirror, replace) or holds every source row as it is now (upsert).
func TestPropertyRandomEditsAndFailures(t *testing.T) {
	for _, mode := range []string{spec.ModeUpsert, spec.ModeMirror, spec.ModeReplace} {
		for seed := uint64(1); seed <= 4; seed++ {
			t.Run(fmt.Sprintf("%s/seed%d", mode, seed), func(t *testing.T) {
				runProperty(t, mode, seed)
			})
		}
	}
	if injector.before == 0 || injector.after == 0 {
		t.Fatalf("faults were not injected (before %d, after %d)", injector.before, injector.after)
	}
}

func runProperty(t *testing.T, mode string, seed uint64) {
	dir := t.TempDir()
	pk := "primary_key: [id]"
	specText := fmt.Sprintf(`version: 1
connections:
  src: {type: files, path: ., format: csv}
  db: {type: sqlite, path: ./dest.db}
syncs:
  - name: people
    source: {connection: src, path: people.csv}
    destination: {connection: db, object: people, mode: %s, %s, create_table: true}
    batch_size: 3
    concurrency: 3
`, mode, pk)
	specPath := filepath.Join(dir, "hoist.yaml")
	if err := os.WriteFile(specPath, []byte(specText), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := spec.Load(specPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	store, err := state.Open(ctx, "file://"+filepath.Join(dir, ".hoist"), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	r := &hsync.Runner{File: f, Store: store, Opt: hsync.Options{AllowMassDelete: true, TempDir: dir}}
	rng := rand.New(rand.NewPCG(seed, 99))
	src := map[int]row{}
	nextID := 0
	for len(src) < 5 {
		mutate(rng, src, &nextID, false)
	}
	for step := 0; step < 6; step++ {
		mutate(rng, src, &nextID, mode != spec.ModeUpsert || step%2 == 0)
		writeCSV(t, filepath.Join(dir, "people.csv"), src)
		// Some runs under faults: they may fail, must never lose a row.
		injector.set(rng, 0.35)
		for i := rng.IntN(3); i >= 0; i-- {
			r.Run(ctx, f.Syncs[0])
		}
		injector.set(nil, 0)
		rep := r.Run(ctx, f.Syncs[0])
		if rep.Status != hsync.StatusOK {
			t.Fatalf("step %d: final run %s: %s", step, rep.Status, rep.Error)
		}
		got := readTable(t, filepath.Join(dir, "dest.db"))
		for id, want := range src {
			if got[id] != want {
				t.Fatalf("step %d (%s): id %d: destination %+v, source %+v", step, mode, id, got[id], want)
			}
		}
		if mode != spec.ModeUpsert && len(got) != len(src) {
			t.Fatalf("step %d (%s): destination has %d rows, source %d", step, mode, len(got), len(src))
		}
		// A second run right after sends nothing for the diffing modes.
		if mode != spec.ModeReplace {
			again := r.Run(ctx, f.Syncs[0])
			if again.Delivered != 0 || again.Status != hsync.StatusOK {
				t.Fatalf("step %d: rerun delivered %d (%s %s), want 0", step, again.Delivered, again.Status, again.Error)
			}
		}
	}
}
