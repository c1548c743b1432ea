// Command diff benchmarks change detection (make bench-diff): the diff a
// keyed sync runs before it loads anything, on an N-row snapshot with 1% of
// the rows changed (and 0.1% replaced by new keys, so adds and removes are
// exercised too).
//
// Run without -phase it orchestrates: for each size in -rows it re-executes
// itself with -phase build (commit the N-row snapshot into a file state store)
// and then -phase diff (sort the edited extract and merge it against that
// snapshot), so the diff's peak RSS is measured in a fresh process that never
// held the build's memory. It prints seconds and peak RSS per size and checks
// the targets: 2M rows under 5 s and 400 MB, and peak RSS at the largest size
// no more than 1.5× the smallest.
//
//	go run -tags minicore_disabled ./bench/diff                       # 2M and 10M
//	go run -tags minicore_disabled ./bench/diff -rows 2000000 -cpuprofile cpu.out
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
)

// Targets from issue 4.
const (
	targetSeconds = 5.0
	targetMB      = 400.0
	targetRatio   = 1.5
	targetRows    = 2_000_000
)

type options struct {
	phase      string
	rows       string
	dir        string
	keep       bool
	cpuProfile string
	memProfile string
}

func main() {
	var o options
	flag.StringVar(&o.phase, "phase", "", "build or diff (internal: the orchestrator runs both)")
	flag.StringVar(&o.rows, "rows", "2000000,10000000", "comma-separated row counts, smallest first")
	flag.StringVar(&o.dir, "dir", "", "work folder (default: a temp folder, removed at the end)")
	flag.BoolVar(&o.keep, "keep", false, "keep the work folder")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of each diff phase to FILE.<rows>")
	flag.StringVar(&o.memProfile, "memprofile", "", "write a heap profile of each diff phase (at its end; see alloc_space for where memory came from) to FILE.<rows>")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var err error
	if o.phase == "" {
		err = orchestrate(ctx, o)
	} else {
		err = runPhase(ctx, o)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-diff:", err)
		os.Exit(1)
	}
}

// runPhase runs one phase in this process and prints its result as JSON.
func runPhase(ctx context.Context, o options) error {
	n, err := strconv.Atoi(o.rows)
	if err != nil || n <= 0 || o.dir == "" {
		return errors.New("-phase needs -rows N (one count) and -dir")
	}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	var res *phaseResult
	switch o.phase {
	case "build":
		res, err = buildPhase(ctx, o.dir, n)
	case "diff":
		res, err = diffPhase(ctx, o.dir, n)
	default:
		return fmt.Errorf("unknown phase %q (want build or diff)", o.phase)
	}
	if err != nil {
		return fmt.Errorf("%s phase at %d rows: %w", o.phase, n, err)
	}
	if o.memProfile != "" {
		if err := writeHeapProfile(o.memProfile); err != nil {
			return err
		}
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("heap profile: %w", err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		return fmt.Errorf("heap profile: %w", err)
	}
	return nil
}

// peakRSS reads this process's peak resident set (VmHWM) in KB.
func peakRSS() (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("read peak RSS: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, errors.New("read peak RSS: no VmHWM in /proc/self/status")
}

// orchestrate runs build then diff in child processes for each size.
func orchestrate(ctx context.Context, o options) error {
	var sizes []int
	for _, s := range strings.Split(o.rows, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			return fmt.Errorf("-rows %q: want positive counts like 2000000,10000000", o.rows)
		}
		sizes = append(sizes, n)
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable: %w", err)
	}
	base := o.dir
	if base == "" {
		if base, err = os.MkdirTemp("", "hoist-bench-diff-*"); err != nil {
			return fmt.Errorf("create work folder: %w", err)
		}
	} else if err := os.MkdirAll(base, 0o755); err != nil {
		return fmt.Errorf("create work folder: %w", err)
	}
	if o.keep {
		fmt.Fprintln(os.Stderr, "keeping", base)
	} else {
		defer os.RemoveAll(base)
	}

	var diffs []*phaseResult
	for _, n := range sizes {
		dir := fmt.Sprintf("%s/rows-%d", base, n)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create work folder: %w", err)
		}
		b, err := child(ctx, self, "build", n, dir, o, false)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "built %d-row snapshot in %.1f s (peak RSS %.0f MB, %d sort spills)\n", n, b.Seconds, mb(b.PeakKB), b.Spills)
		d, err := child(ctx, self, "diff", n, dir, o, true)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "diffed %d rows in %.1f s (peak RSS %.0f MB)\n", n, d.Seconds, mb(d.PeakKB))
		diffs = append(diffs, d)
		if !o.keep {
			os.RemoveAll(dir) // a 10M snapshot and its spills are GBs
		}
	}
	report(os.Stdout, diffs)
	return nil
}

// child runs one phase in a fresh process and decodes its result.
func child(ctx context.Context, self, phase string, n int, dir string, o options, profile bool) (*phaseResult, error) {
	args := []string{"-phase", phase, "-rows", strconv.Itoa(n), "-dir", dir}
	if profile && o.cpuProfile != "" {
		args = append(args, "-cpuprofile", fmt.Sprintf("%s.%d", o.cpuProfile, n))
	}
	if profile && o.memProfile != "" {
		args = append(args, "-memprofile", fmt.Sprintf("%s.%d", o.memProfile, n))
	}
	fmt.Fprintf(os.Stderr, "%s phase, %d rows\n", phase, n)
	cmd := exec.CommandContext(ctx, self, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s phase at %d rows: %w", phase, n, err)
	}
	var res phaseResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		return nil, fmt.Errorf("%s phase at %d rows: bad result %q: %w", phase, n, out.String(), err)
	}
	return &res, nil
}

func mb(kb int64) float64 { return float64(kb) / 1024 }
