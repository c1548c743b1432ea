// Command parallelbench measures `hoist run --parallel` (make bench-parallel):
// a spec of many small syncs (SQLite tables → JSON lines files, upsert by
// primary key) run by the built binary with --parallel 1 and with --parallel N,
// from an empty state each time, then once more with nothing changed. It
// prints the spec, the wall and CPU time of each run, the ratio of the
// parallel wall time to the sequential one against the target
// (< 0.25), and checks that both runs printed the same reports in the same
// order, left the same state (cursor, snapshot size, identity) and wrote
// the same files.
//
//	go run -tags minicore_disabled ./bench/parallel -bin bin/hoist -syncs 200 -rows 1000 -parallel 8
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/hoist-dev/hoist/internal/sqlitedb"
)

// target is the figure: parallel wall time under a quarter of the
// sequential one.
const target = 0.25

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "parallelbench:", err)
		os.Exit(1)
	}
}

type config struct {
	bin          string
	syncs, rows  int
	parallel     int
	rounds       int
	dir          string
	strict, keep bool
}

func run() error {
	var c config
	flag.StringVar(&c.bin, "bin", "bin/hoist", "hoist binary to measure")
	flag.IntVar(&c.syncs, "syncs", 200, "syncs in the spec (one source table each)")
	flag.IntVar(&c.rows, "rows", 1000, "rows per table")
	flag.IntVar(&c.parallel, "parallel", 8, "--parallel of the parallel runs")
	flag.IntVar(&c.rounds, "rounds", 3, "sequential/parallel pairs; the median is reported")
	flag.StringVar(&c.dir, "dir", "", "work folder (default: a new temp folder, removed after)")
	flag.BoolVar(&c.strict, "strict", false, "exit 1 when the ratio misses the target")
	flag.BoolVar(&c.keep, "keep", false, "keep the work folder")
	flag.Parse()
	bin, err := filepath.Abs(c.bin)
	if err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("%s: %w (run make build first)", c.bin, err)
	}
	c.bin = bin
	if c.dir == "" {
		if c.dir, err = os.MkdirTemp("", "hoist-bench-parallel-*"); err != nil {
			return err
		}
		if !c.keep {
			defer os.RemoveAll(c.dir)
		}
	}
	ctx := context.Background()
	if err := makeSource(ctx, filepath.Join(c.dir, "src.db"), c.syncs, c.rows); err != nil {
		return err
	}
	specText := specFor(c.syncs)
	specPath := filepath.Join(c.dir, "hoist.yaml")
	if err := os.WriteFile(specPath, []byte(specText), 0o644); err != nil {
		return err
	}
	lines := strings.Split(specText, "\n")
	fmt.Printf("spec (%s): %d syncs, %d rows each; its first sync:\n", specPath, c.syncs, c.rows)
	fmt.Println("  " + strings.Join(lines[:14], "\n  "))
	fmt.Printf("  … %d more syncs like it (table t<i> → out/t<i>.jsonl)\n", c.syncs-1)
	fmt.Printf("machine: %d CPUs; %s", runtime.NumCPU(), loadAvg())
	fmt.Printf("each run: %s run hoist.yaml --parallel P -o json -q, from an empty state (first) and again with nothing changed (second)\n\n", c.bin)

	var firstSeq, firstPar, againSeq, againPar []result
	var ref *outcome
	for round := 1; round <= c.rounds; round++ {
		for _, p := range []int{1, c.parallel} {
			first, again, got, err := measure(c, p)
			if err != nil {
				return err
			}
			if ref == nil {
				ref = got
			} else if err := ref.same(got); err != nil {
				return fmt.Errorf("round %d, --parallel %d differs from the first sequential run: %w", round, p, err)
			}
			fmt.Printf("round %d  --parallel %-2d  first run %6.2fs wall %6.2fs cpu   nothing changed %6.2fs wall %6.2fs cpu\n",
				round, p, first.wall.Seconds(), first.cpu.Seconds(), again.wall.Seconds(), again.cpu.Seconds())
			if p == 1 {
				firstSeq, againSeq = append(firstSeq, first), append(againSeq, again)
			} else {
				firstPar, againPar = append(firstPar, first), append(againPar, again)
			}
		}
	}
	fmt.Printf("\nmedian of %d rounds; the same reports (in spec order), states and files in every run\n", c.rounds)
	r1 := report("first run (1000 rows added per sync)", firstSeq, firstPar, c.parallel)
	report("nothing changed", againSeq, againPar, c.parallel)
	fmt.Printf("machine after: %s", loadAvg())
	if r1 >= target {
		fmt.Printf("target missed: %.3f ≥ %.2f\n", r1, target)
		if c.strict {
			os.Exit(1)
		}
	} else {
		fmt.Printf("target met: %.3f < %.2f\n", r1, target)
	}
	return nil
}

func report(what string, seq, par []result, p int) float64 {
	s, q := median(seq), median(par)
	ratio := q.wall.Seconds() / s.wall.Seconds()
	fmt.Printf("%-38s --parallel 1: %6.2fs wall (%5.2fs cpu)  --parallel %d: %6.2fs wall (%5.2fs cpu)  ratio %.3f\n",
		what+":", s.wall.Seconds(), s.cpu.Seconds(), p, q.wall.Seconds(), q.cpu.Seconds(), ratio)
	return ratio
}

type result struct{ wall, cpu time.Duration }

func median(rs []result) result {
	s := slices.Clone(rs)
	slices.SortFunc(s, func(a, b result) int { return int(a.wall - b.wall) })
	return s[len(s)/2]
}

// measure runs the spec from an empty state, then again, and returns both
// times and what the first run left.
func measure(c config, p int) (first, again result, got *outcome, err error) {
	for _, d := range []string{".hoist", "out", "rejected"} {
		if err := os.RemoveAll(filepath.Join(c.dir, d)); err != nil {
			return first, again, nil, err
		}
	}
	first, reps, err := hoist(c, p)
	if err != nil {
		return first, again, nil, err
	}
	if got, err = collect(c, reps); err != nil {
		return first, again, nil, err
	}
	again, reps2, err := hoist(c, p)
	if err != nil {
		return first, again, nil, err
	}
	for i, line := range reps2 {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return first, again, nil, err
		}
		if r["status"] != "ok" || r["delivered"] != 0.0 {
			return first, again, nil, fmt.Errorf("second run, report %d: want ok with nothing delivered: %s", i, line)
		}
	}
	return first, again, got, nil
}

// hoist runs the binary once and returns its time and report lines.
func hoist(c config, p int) (result, []string, error) {
	cmd := exec.Command(c.bin, "run", "hoist.yaml", "--parallel", fmt.Sprint(p), "-o", "json", "-q")
	cmd.Dir = c.dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	res := result{wall: time.Since(start)}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		// the supervisor's usage includes its child's, which it waited for
		res.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if err != nil {
		return res, nil, fmt.Errorf("--parallel %d: %w\n%s", p, err, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != c.syncs {
		return res, nil, fmt.Errorf("--parallel %d: %d report lines, want %d", p, len(lines), c.syncs)
	}
	return res, lines, nil
}

// outcome is what a first run left: its reports without what differs from
// run to run, every sync's state without its times, and every output file.
type outcome struct {
	reports, states []string
	files           map[string][]byte
}

func collect(c config, reps []string) (*outcome, error) {
	o := &outcome{files: map[string][]byte{}}
	for i, line := range reps {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return nil, err
		}
		if r["sync"] != fmt.Sprintf("s%d", i) || r["status"] != "ok" || r["delivered"] != float64(c.rows) {
			return nil, fmt.Errorf("report %d: want s%d ok with %d rows delivered: %s", i, i, c.rows, line)
		}
		delete(r, "run_id")
		delete(r, "duration_ms")
		b, _ := json.Marshal(r)
		o.reports = append(o.reports, string(b))
	}
	cmd := exec.Command(c.bin, "state", "show", "hoist.yaml", "-o", "json")
	cmd.Dir = c.dir
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("state show: %w", err)
	}
	for i, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var st map[string]any
		if err := json.Unmarshal([]byte(line), &st); err != nil {
			return nil, fmt.Errorf("state show line %d: %w", i, err)
		}
		if st["snapshot_rows"] != float64(c.rows) || st["identity"] == nil {
			return nil, fmt.Errorf("state of sync %d: want %d rows and an identity: %s", i, c.rows, line)
		}
		delete(st, "last_run")
		b, _ := json.Marshal(st)
		o.states = append(o.states, string(b))
	}
	if len(o.states) != c.syncs {
		return nil, fmt.Errorf("state show: %d syncs, want %d", len(o.states), c.syncs)
	}
	entries, err := os.ReadDir(filepath.Join(c.dir, "out"))
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(c.dir, "out", e.Name()))
		if err != nil {
			return nil, err
		}
		o.files[e.Name()] = b
	}
	if len(o.files) != c.syncs {
		return nil, fmt.Errorf("out/ holds %d files, want %d", len(o.files), c.syncs)
	}
	return o, nil
}

func (o *outcome) same(p *outcome) error {
	if !slices.Equal(o.reports, p.reports) {
		return errors.New("reports differ")
	}
	if !slices.Equal(o.states, p.states) {
		return errors.New("states differ")
	}
	for name, b := range o.files {
		if !bytes.Equal(b, p.files[name]) {
			return fmt.Errorf("out/%s differs", name)
		}
	}
	return nil
}

func specFor(n int) string {
	var b strings.Builder
	b.WriteString(`# make bench-parallel: many small syncs, SQLite → JSON lines files
version: 1
connections:
  src: {type: sqlite, path: src.db}
  out: {type: files, path: out, format: jsonl}
syncs:
`)
	for i := range n {
		fmt.Fprintf(&b, `  - name: s%d
    source:
      connection: src
      table: t%d
    destination:
      connection: out
      object: t%d
      mode: upsert
      primary_key: [id]
`, i, i, i)
	}
	return b.String()
}

func cursorAt(j int) string {
	return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(j) * time.Second).Format("2006-01-02T15:04:05")
}

// makeSource writes n tables of rows rows each into a new SQLite file.
func makeSource(ctx context.Context, path string, n, rows int) error {
	os.Remove(path)
	db, err := sqlitedb.OpenWrite(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for i := range n {
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`CREATE TABLE t%d (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT, score REAL, updated_at TIMESTAMP NOT NULL)`, i)); err != nil {
			return fmt.Errorf("create t%d: %w", i, err)
		}
		stmt, err := tx.PrepareContext(ctx, fmt.Sprintf(`INSERT INTO t%d VALUES (?, ?, ?, ?, ?)`, i))
		if err != nil {
			return err
		}
		for j := range rows {
			if _, err := stmt.ExecContext(ctx, j, fmt.Sprintf("user%d@t%d.example", j, i), fmt.Sprintf("User %d", j), float64(j)/7, cursorAt(j)); err != nil {
				stmt.Close()
				return fmt.Errorf("insert into t%d: %w", i, err)
			}
		}
		stmt.Close()
	}
	return tx.Commit()
}

// loadAvg reports the machine's load, which bears on the figures: other
// processes take CPU from both runs.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "load average unknown\n"
	}
	f := strings.Fields(string(b))
	return fmt.Sprintf("load average %s %s %s\n", f[0], f[1], f[2])
}
