package sync_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	hsync "github.com/hoist-dev/hoist/sync"
	"github.com/hoist-dev/hoist/sync/spec"
)

// schedSync is one sync of a scheduler test: "name" reads src.t_name and
// writes out/name unless from, to or object say otherwise.
type schedSync struct {
	name, from, to, object string
	after                  []string
}

func schedSpec(t *testing.T, syncs []schedSync) *spec.File {
	t.Helper()
	var b strings.Builder
	b.WriteString(`version: 1
connections:
  src: {type: sqlite, path: src.db}
  db: {type: sqlite, path: db.db}
  out: {type: files, path: out, format: jsonl}
syncs:
`)
	for _, s := range syncs {
		from, to, obj := s.from, s.to, s.object
		if from == "" {
			from = "src"
		}
		if to == "" {
			to = "out"
		}
		if obj == "" {
			obj = s.name
		}
		fmt.Fprintf(&b, "  - name: %s\n    source: {connection: %s, table: t_%s}\n", s.name, from, s.name)
		fmt.Fprintf(&b, "    destination: {connection: %s, object: %s, mode: append}\n", to, obj)
		if len(s.after) > 0 {
			fmt.Fprintf(&b, "    after: [%s]\n", strings.Join(s.after, ", "))
		}
	}
	f, err := spec.Parse("s.yaml", []byte(b.String()), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("spec: %v", err)
	}
	return f
}

// recorder stands in for running syncs: it logs "+name" when one starts
// and "-name" when it ends, and tracks how many run at once.
type recorder struct {
	mu       stdsync.Mutex
	cond     *stdsync.Cond
	events   []string
	running  int
	peak     int
	fail     map[string]bool
	together int // each run waits (up to 5s) until this many run at once
}

func newRecorder(fail []string, together int) *recorder {
	r := &recorder{fail: map[string]bool{}, together: together}
	r.cond = stdsync.NewCond(&r.mu)
	for _, n := range fail {
		r.fail[n] = true
	}
	return r
}

func (r *recorder) run(name string) bool {
	r.mu.Lock()
	r.events = append(r.events, "+"+name)
	r.running++
	r.peak = max(r.peak, r.running)
	r.cond.Broadcast()
	if r.together > 0 {
		deadline := time.Now().Add(5 * time.Second)
		go func() { time.Sleep(5 * time.Second); r.cond.Broadcast() }()
		for r.peak < r.together && time.Now().Before(deadline) {
			r.cond.Wait()
		}
	}
	r.running--
	r.events = append(r.events, "-"+name)
	r.mu.Unlock()
	time.Sleep(time.Millisecond) // let others start while this one "runs"
	return !r.fail[name]
}

// before reports whether event a was logged before event b (both present).
func before(events []string, a, b string) bool {
	i, j := slices.Index(events, a), slices.Index(events, b)
	return i >= 0 && j >= 0 && i < j
}

// TestScheduleOrder: syncs start in spec order as far as after allows, at
// most parallel at once and that many when they are independent; a sync
// starts only once its after syncs and every earlier sync it conflicts with
// (same object, or one writes what the other reads) have ended; a failure
// skips the syncs after it, transitively, but not those that only
// conflicted with it.
func TestScheduleOrder(t *testing.T) {
	tests := []struct {
		name     string
		syncs    []schedSync
		parallel int
		fail     []string
		together int      // the syncs that must run at once (0: no check)
		starts   []string // with parallel 1: the exact start order
		edges    [][2]string
		outcome  map[string]hsync.Outcome // default Succeeded
		skipped  map[string]string        // skipped sync → the after sync named as the cause
	}{
		{name: "sequential is spec order", parallel: 1,
			syncs:  []schedSync{{name: "a"}, {name: "b"}, {name: "c"}},
			starts: []string{"a", "b", "c"}},
		{name: "after a later sync", parallel: 1,
			syncs:  []schedSync{{name: "a", after: []string{"c"}}, {name: "b"}, {name: "c"}},
			starts: []string{"b", "c", "a"}},
		{name: "independent syncs run together", parallel: 4, together: 4,
			syncs: []schedSync{{name: "a"}, {name: "b"}, {name: "c"}, {name: "d"}, {name: "e"}}},
		{name: "parallel bounds them", parallel: 2, together: 2,
			syncs: []schedSync{{name: "a"}, {name: "b"}, {name: "c"}, {name: "d"}, {name: "e"}}},
		{name: "chain and fan-in", parallel: 4,
			syncs: []schedSync{{name: "a"}, {name: "b", after: []string{"a"}}, {name: "c", after: []string{"a"}},
				{name: "d", after: []string{"b", "c"}}},
			edges: [][2]string{{"a", "b"}, {"a", "c"}, {"b", "d"}, {"c", "d"}}},
		{name: "failure skips the dependents, transitively", parallel: 4, fail: []string{"a"},
			syncs: []schedSync{{name: "a"}, {name: "b", after: []string{"a"}}, {name: "c", after: []string{"b"}},
				{name: "d"}, {name: "e", after: []string{"d"}}},
			outcome: map[string]hsync.Outcome{"a": hsync.Failed, "b": hsync.Skipped, "c": hsync.Skipped},
			skipped: map[string]string{"b": "a", "c": "b"},
			edges:   [][2]string{{"d", "e"}}},
		{name: "one failed after sync is enough", parallel: 3, fail: []string{"b"},
			syncs:   []schedSync{{name: "a"}, {name: "b"}, {name: "c", after: []string{"a", "b"}}},
			outcome: map[string]hsync.Outcome{"b": hsync.Failed, "c": hsync.Skipped},
			skipped: map[string]string{"c": "b"}},
		{name: "same object: one after the other, failure or not", parallel: 4, fail: []string{"a"},
			syncs:   []schedSync{{name: "a", object: "shared"}, {name: "b"}, {name: "c", object: "shared"}},
			edges:   [][2]string{{"-a", "+c"}},
			outcome: map[string]hsync.Outcome{"a": hsync.Failed}},
		{name: "a reader waits for the writer of its connection", parallel: 4,
			syncs: []schedSync{{name: "load", to: "db"}, {name: "other"}, {name: "publish", from: "db"}},
			edges: [][2]string{{"-load", "+publish"}}},
		{name: "a writer waits for an earlier reader of its connection", parallel: 4,
			syncs: []schedSync{{name: "publish", from: "db"}, {name: "load", to: "db"}},
			edges: [][2]string{{"-publish", "+load"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := schedSpec(t, tc.syncs)
			sc, err := hsync.NewSchedule(f, f.Syncs)
			if err != nil {
				t.Fatal(err)
			}
			rec := newRecorder(tc.fail, tc.together)
			skipped := map[string]string{}
			out := sc.Exec(context.Background(), tc.parallel,
				func(_ context.Context, i int) bool { return rec.run(f.Syncs[i].Name) },
				func(i, because int) { skipped[f.Syncs[i].Name] = f.Syncs[because].Name })
			for i, s := range f.Syncs {
				want, ok := tc.outcome[s.Name]
				if !ok {
					want = hsync.Succeeded
				}
				if out[i] != want {
					t.Errorf("%s: outcome %d, want %d (events %v)", s.Name, out[i], want, rec.events)
				}
			}
			if tc.skipped == nil {
				tc.skipped = map[string]string{}
			}
			if fmt.Sprint(skipped) != fmt.Sprint(tc.skipped) {
				t.Errorf("skipped %v, want %v", skipped, tc.skipped)
			}
			if rec.peak > tc.parallel {
				t.Errorf("%d syncs ran at once, past --parallel %d", rec.peak, tc.parallel)
			}
			if tc.together > 0 && rec.peak < tc.together {
				t.Errorf("at most %d syncs ran at once, want %d", rec.peak, tc.together)
			}
			if tc.starts != nil {
				var starts []string
				for _, e := range rec.events {
					if name, ok := strings.CutPrefix(e, "+"); ok {
						starts = append(starts, name)
					}
				}
				if !slices.Equal(starts, tc.starts) {
					t.Errorf("start order %v, want %v", starts, tc.starts)
				}
			}
			for _, e := range tc.edges {
				a, b := e[0], e[1]
				if !strings.ContainsAny(a[:1], "+-") {
					a, b = "-"+a, "+"+b // an after edge: a ends before b starts
				}
				if !before(rec.events, a, b) {
					t.Errorf("%s did not come before %s: %v", a, b, rec.events)
				}
			}
		})
	}
}

// TestScheduleInterrupt: once the context ends no sync starts and none is
// skipped; Exec waits for the running ones and reports the rest as not
// started.
func TestScheduleInterrupt(t *testing.T) {
	f := schedSpec(t, []schedSync{{name: "a"}, {name: "b"}, {name: "c", after: []string{"a"}}, {name: "d"}})
	sc, err := hsync.NewSchedule(f, f.Syncs)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu stdsync.Mutex
	started := map[string]bool{}
	var wg stdsync.WaitGroup
	wg.Add(2)
	go func() { wg.Wait(); cancel() }() // Ctrl-C once a and b run
	out := sc.Exec(ctx, 2, func(ctx context.Context, i int) bool {
		mu.Lock()
		started[f.Syncs[i].Name] = true
		mu.Unlock()
		wg.Done()
		<-ctx.Done() // an interrupted sync fails
		return false
	}, func(i, because int) { t.Errorf("%s skipped after an interrupt", f.Syncs[i].Name) })
	want := []hsync.Outcome{hsync.Failed, hsync.Failed, hsync.NotStarted, hsync.NotStarted}
	if !slices.Equal(out, want) {
		t.Fatalf("outcomes %v, want %v (started %v)", out, want, started)
	}
}

// TestScheduleSelection: --sync keeps only the after entries between
// selected syncs; the others are listed so the run can say it did not wait.
// A cycle (which validation refuses in a spec) is an error, not a hang.
func TestScheduleSelection(t *testing.T) {
	f := schedSpec(t, []schedSync{{name: "a"}, {name: "b", after: []string{"a"}}, {name: "c", after: []string{"b"}}})
	sel := []*spec.Sync{f.Syncs[1], f.Syncs[2]}
	sc, err := hsync.NewSchedule(f, sel)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(sc.Unselected); got != "[[a] []]" {
		t.Fatalf("unselected %s, want [[a] []]", got)
	}
	rec := newRecorder([]string{"b"}, 0)
	var skipped []string
	out := sc.Exec(context.Background(), 4, func(_ context.Context, i int) bool { return rec.run(sel[i].Name) },
		func(i, because int) { skipped = append(skipped, sel[i].Name+" after "+sel[because].Name) })
	if !slices.Equal(out, []hsync.Outcome{hsync.Failed, hsync.Skipped}) || !slices.Equal(skipped, []string{"c after b"}) {
		t.Fatalf("outcomes %v, skipped %v", out, skipped)
	}

	loop := []*spec.Sync{{Name: "x", After: []string{"y"}}, {Name: "y", After: []string{"x"}}}
	if _, err := hsync.NewSchedule(nil, loop); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Fatalf("a cycle: %v", err)
	}
}
