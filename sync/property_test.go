package sync_test

import (
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	stdsync "sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/hoist-dev/hoist/internal/filefmt"
	"github.com/hoist-dev/hoist/internal/pgconn"
	"github.com/hoist-dev/hoist/internal/pgtest"
	"github.com/hoist-dev/hoist/internal/sqlitedb"
	"github.com/hoist-dev/hoist/internal/txjoin"
	"github.com/hoist-dev/hoist/load"
	hsync "github.com/hoist-dev/hoist/sync"
	"github.com/hoist-dev/hoist/sync/spec"
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
	// failSeq, when >= 0, fails exactly the batch with that number.
	failSeq int
	// ops counts the batches written, by op.
	ops map[load.Op]int
}

// opsSeen returns the batches written since the last set, by op.
func (f *faults) opsSeen() map[load.Op]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.ops)
}

var injector = &faults{failSeq: -1}

func (f *faults) roll(seq int, op load.Op) (failBefore, failAfter bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ops == nil {
		f.ops = map[load.Op]int{}
	}
	f.ops[op]++
	if f.failSeq >= 0 {
		return seq == f.failSeq, false
	}
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
	f.rng, f.rate, f.failSeq, f.ops = rng, rate, -1, nil
}

func (f *faults) failBatch(seq int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rng, f.rate, f.failSeq, f.ops = nil, 0, seq, nil
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
	before, after := injector.roll(b.Seq, b.Op)
	if before {
		return load.Result{}, errInjected
	}
	res, err := w.Writer.Write(ctx, b)
	if err == nil && after {
		return load.Result{}, errInjected
	}
	return res, err
}

// BatchLimits and FirstLoad forward the wrapped writer's, so that the runs
// under test cut batches and take first loads as they would unwrapped.
func (w faultyWriter) BatchLimits() load.BatchLimits { return load.LimitsOf(w.Writer) }

func (w faultyWriter) FirstLoad(ctx context.Context) (bool, error) {
	if fl, ok := w.Writer.(load.FirstLoader); ok {
		return fl.FirstLoad(ctx)
	}
	return false, nil
}

// JoinTarget forwards the wrapped writer's database, if it can join a state
// commit (Postgres destinations); the zero Target joins no store.
func (w faultyWriter) JoinTarget() txjoin.Target {
	if fw, ok := w.Writer.(load.StateJoiner); ok {
		return fw.JoinTarget()
	}
	return txjoin.Target{}
}

// WriteFinal forwards the last batch of a joint state commit, with the same
// faults as Write.
func (w faultyWriter) WriteFinal(ctx context.Context, b load.Batch, then load.FinalFunc) (load.Result, error) {
	fw, ok := w.Writer.(load.StateJoiner)
	if !ok {
		return load.Result{}, errors.New("WriteFinal on a writer without it")
	}
	before, after := injector.roll(b.Seq, b.Op)
	if before {
		return load.Result{}, errInjected
	}
	res, err := fw.WriteFinal(ctx, b, then)
	if err == nil && after {
		return load.Result{}, errInjected
	}
	return res, err
}

func init() {
	for _, typ := range []string{sqlitedb.Type, pgconn.Type, filefmt.Type} {
		real, ok := load.Lookup(typ)
		if !ok {
			panic(typ + " destination not registered")
		}
		load.SetOpener(typ, func(ctx context.Context, c *spec.Connection, dir string) (load.Destination, error) {
			d, err := real(ctx, c, dir)
			if err != nil {
				return nil, err
			}
			return faultyDest{d}, nil
		})
	}
}

type row struct {
	name  string
	score int
	ver   int // bumped on every add and change: the cursor of cursor runs
}

// version is the source's change counter (an updated_at stand-in).
var version int

// writeCSV writes the model source as the sync's CSV input.
func writeCSV(t *testing.T, path string, src map[int]row) {
	t.Helper()
	var b strings.Builder
	b.WriteString("id,name,score,ver\n")
	ids := make([]int, 0, len(src))
	for id := range src {
		ids = append(ids, id)
	}
	// in change order, as a source ordered by its cursor delivers rows
	sort.Slice(ids, func(i, j int) bool { return src[ids[i]].ver < src[ids[j]].ver })
	for _, id := range ids {
		fmt.Fprintf(&b, "%d,%s,%d,%d\n", id, src[id].name, src[id].score, src[id].ver)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// destKind is a destination the property test writes to and reads back.
type destKind struct {
	// conn is the YAML of the destination connection "db"; object its object.
	conn func(t *testing.T, dir string) (conn, object string)
	read func(t *testing.T, dir string) map[int]row
}

func sqliteKind() destKind {
	return destKind{
		conn: func(t *testing.T, dir string) (string, string) {
			return "{type: sqlite, path: ./dest.db}", "people"
		},
		read: func(t *testing.T, dir string) map[int]row {
			db, err := sql.Open("sqlite", filepath.Join(dir, "dest.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			return scanPeople(t, db, `SELECT id, name, score FROM people`)
		},
	}
}

func filesKind() destKind {
	return destKind{
		conn: func(t *testing.T, dir string) (string, string) {
			return "{type: files, path: ./out, format: csv}", "people"
		},
		read: func(t *testing.T, dir string) map[int]row {
			f, err := os.Open(filepath.Join(dir, "out", "people.csv"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			recs, err := csv.NewReader(f).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			out := map[int]row{}
			for i, r := range recs {
				if i == 0 {
					if strings.Join(r[:3], ",") != "id,name,score" {
						t.Fatalf("csv header %v", r)
					}
					continue
				}
				id, _ := strconv.Atoi(r[0])
				score, _ := strconv.Atoi(r[2])
				if _, dup := out[id]; dup {
					t.Fatalf("destination file holds id %d twice", id)
				}
				out[id] = row{name: r[1], score: score}
			}
			return out
		},
	}
}

func postgresKind(t *testing.T) destKind {
	db := pgtest.New(t)
	return destKind{
		conn: func(t *testing.T, dir string) (string, string) {
			return fmt.Sprintf("{type: postgres, url: %q}", db.URL), db.Schema + ".people"
		},
		read: func(t *testing.T, dir string) map[int]row {
			conn, err := sql.Open("pgx", db.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			return scanPeople(t, conn, fmt.Sprintf(`SELECT id, name, score FROM %q.people`, db.Schema))
		},
	}
}

func scanPeople(t *testing.T, db *sql.DB, q string) map[int]row {
	t.Helper()
	rows, err := db.Query(q)
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
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// mutate applies random source edits: adds, changes, deletes, key changes.
func mutate(rng *rand.Rand, src map[int]row, nextID *int, deletes bool) {
	for i := rng.IntN(6); i > 0; i-- {
		*nextID++
		version++
		src[*nextID] = row{name: fmt.Sprintf("n%d", rng.IntN(1000)), score: rng.IntN(100), ver: version}
	}
	ids := make([]int, 0, len(src))
	for id := range src {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	for i := rng.IntN(6); i > 0 && len(ids) > 0; i-- {
		id := ids[rng.IntN(len(ids))]
		version++
		src[id] = row{name: fmt.Sprintf("c%d", rng.IntN(1000)), score: rng.IntN(100), ver: version}
	}
	if deletes {
		for i := rng.IntN(3); i > 0 && len(src) > 2; i-- {
			id := ids[rng.IntN(len(ids))]
			if _, ok := src[id]; ok {
				if rng.IntN(2) == 0 { // a key change: the row moves to a new key
					*nextID++
					version++
					moved := src[id]
					moved.ver = version
					src[*nextID] = moved
				}
				delete(src, id)
			}
		}
	}
}

// TestPropertyRandomEditsAndFailures: random sequences of source edits and
// injected load failures (before the write, and after it with the
// acknowledgement lost), for every destination: after each final run without
// faults the destination equals the mapped source exactly (mirror, replace),
// holds every source row as it is now (upsert), or holds every source key
// (insert, which never updates); an immediate rerun sends nothing.
func TestPropertyRandomEditsAndFailures(t *testing.T) {
	kinds := []struct {
		name string
		make func(t *testing.T) destKind
	}{
		{"sqlite", func(*testing.T) destKind { return sqliteKind() }},
		{"files", func(*testing.T) destKind { return filesKind() }},
		{"postgres", postgresKind},
	}
	for _, kind := range kinds {
		// "+cursor": incremental extraction on the change counter
		for _, mode := range []string{spec.ModeUpsert, spec.ModeMirror, spec.ModeReplace, spec.ModeInsert, spec.ModeUpsert + "+cursor"} {
			for seed := uint64(1); seed <= 3; seed++ {
				t.Run(fmt.Sprintf("%s/%s/seed%d", kind.name, mode, seed), func(t *testing.T) {
					runProperty(t, kind.make(t), mode, seed)
				})
			}
		}
	}
	if injector.before == 0 || injector.after == 0 {
		t.Fatalf("faults were not injected (before %d, after %d)", injector.before, injector.after)
	}
}

// propSource is the source of a property run: a CSV file by default.
type propSource struct {
	conn  string // the YAML of the source connection "src"
	block string // the source block's own keys
	extra string // more keys of the sync (diff: warehouse)
	write func(t *testing.T, dir string, src map[int]row)
}

var csvSource = propSource{conn: "{type: files, path: ., format: csv}", block: "path: people.csv",
	write: func(t *testing.T, dir string, src map[int]row) { writeCSV(t, filepath.Join(dir, "people.csv"), src) }}

func runProperty(t *testing.T, k destKind, mode string, seed uint64) {
	runPropertyFrom(t, csvSource, k, mode, seed)
}

func runPropertyFrom(t *testing.T, ps propSource, k destKind, mode string, seed uint64) {
	dir := t.TempDir()
	conn, object := k.conn(t, dir)
	cursor := ""
	if m, ok := strings.CutSuffix(mode, "+cursor"); ok {
		mode, cursor = m, ", cursor: ver"
	}
	specText := fmt.Sprintf(`version: 1
connections:
  src: %s
  db: %s
syncs:
  - name: people
    source: {connection: src, %s%s}
    destination: {connection: db, object: %q, mode: %s, primary_key: [id], create_table: true}
    batch_size: 3
    concurrency: 3
%s`, ps.conn, conn, ps.block, cursor, object, mode, ps.extra)
	f, store := loadSpecAndStore(t, dir, specText)
	ctx := context.Background()
	r := &hsync.Runner{File: f, Store: store, Opt: hsync.Options{AllowMassDelete: true, TempDir: dir}}
	rng := rand.New(rand.NewPCG(seed, 99))
	src := map[int]row{}
	nextID := 0
	for len(src) < 5 {
		mutate(rng, src, &nextID, false)
	}
	for step := 0; step < 6; step++ {
		mutate(rng, src, &nextID, (mode != spec.ModeUpsert && mode != spec.ModeInsert) || step%2 == 0)
		ps.write(t, dir, src)
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
		got := k.read(t, dir)
		for id, want := range src {
			have, ok := got[id]
			want.ver = 0
			if !ok || (mode != spec.ModeInsert && have != want) {
				t.Fatalf("step %d (%s): id %d: destination %+v, source %+v", step, mode, id, have, want)
			}
		}
		if (mode == spec.ModeMirror || mode == spec.ModeReplace) && len(got) != len(src) {
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
