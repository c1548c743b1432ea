package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	stdsync "sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	hsync "github.com/hoist-dev/hoist/sync"
)

// RunOptions are `hoist run`'s inputs.
type RunOptions struct {
	IO              *IO
	Global          *GlobalOptions
	Spec            string
	FullRefresh     bool
	Refresh         bool
	Concurrency     int
	Parallel        int
	LockTimeout     time.Duration
	AllowMassDelete bool
	TempDir         string
	Shard           ShardOptions
}

// NewCmdRun builds `hoist run`.
func NewCmdRun(streams *IO, g *GlobalOptions, runF func(context.Context, *RunOptions) error) *cobra.Command {
	opts := &RunOptions{IO: streams, Global: g}
	cmd := &cobra.Command{
		Use:   "run SPEC",
		Short: "Extract, diff, load, then commit state for what the destination acknowledged",
		Args:  specArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Spec = args[0]
			if opts.Concurrency < 0 {
				return fmt.Errorf("--concurrency must be positive")
			}
			if opts.Parallel < 1 {
				return fmt.Errorf("--parallel must be at least 1 (got %d)", opts.Parallel)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&opts.FullRefresh, "full-refresh", false, "ignore cursors and re-send every row (the snapshot is kept until the new one commits)")
	fl.BoolVar(&opts.Refresh, "refresh", false, "diff against the destination's actual rows instead of the snapshot and repair drift (postgres, sqlite, files)")
	fl.IntVar(&opts.Concurrency, "concurrency", 0, "parallel loaders, overriding every sync's concurrency")
	fl.IntVar(&opts.Parallel, "parallel", DefaultParallel, "syncs run at once (after and shared objects still order them); reports stay in spec order")
	fl.DurationVar(&opts.LockTimeout, "lock-timeout", 0, "how long to wait for another run of the same sync to finish")
	fl.BoolVar(&opts.AllowMassDelete, "allow-mass-delete", false, "let mirror delete more than max_delete_fraction of the destination")
	fl.StringVar(&opts.TempDir, "temp-dir", "", "folder for the run's spill files (default $TMPDIR, else /tmp)")
	opts.Shard.addFlags(fl, true)
	return cmd
}

func runRun(ctx context.Context, o *RunOptions) error {
	f, syncs, store, err := openSpec(ctx, o.Spec, o.Global)
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("interrupted before any sync started, nothing was sent: %w", err)
	}
	if err != nil {
		return err
	}
	defer store.Close()
	opt := hsync.Options{
		FullRefresh: o.FullRefresh, Refresh: o.Refresh, Concurrency: o.Concurrency, LockTimeout: o.LockTimeout,
		AllowMassDelete: o.AllowMassDelete, TempDir: o.TempDir,
	}
	logTo := o.IO.Err
	if syncs, err = o.Shard.apply(&opt, syncs, func(f string, a ...any) { o.Global.logger(o.IO.Err).Info(fmt.Sprintf(f, a...)) }); err != nil {
		return err
	}
	switch {
	case o.Global.Quiet || !o.IO.errIsTerminal():
	case o.Parallel > 1 && len(syncs) > 1:
		// syncs at once: one board of lines, logs written above it
		brd := newBoard(o.IO.Err)
		opt.Progress, logTo = brd.bar, brd
	default:
		opt.Progress = func(name string) hsync.Progress { return newBar(o.IO, name) }
	}
	opt.Logger = o.Global.logger(logTo)
	sc, err := hsync.NewSchedule(f, syncs)
	if err != nil {
		return fmt.Errorf("%s: %w", o.Spec, err)
	}
	r := &hsync.Runner{File: f, Store: store, Opt: opt}
	reps, left := r.RunAll(ctx, sc, o.Parallel)
	failed, rejected := 0, 0
	for _, rep := range reps {
		switch rep.Status {
		case hsync.StatusFailed, hsync.StatusSkipped:
			failed++
		case hsync.StatusPartial:
			rejected++
		}
	}
	if len(left) > 0 {
		names := make([]string, len(left))
		for i, s := range left {
			names[i] = s.Name
		}
		fmt.Fprintf(o.IO.Err, "interrupted: not started, nothing sent: %s\n", strings.Join(names, ", "))
	}
	if o.Global.Output == "json" {
		if err := hsync.RenderRunJSON(o.IO.Out, reps); err != nil {
			return err
		}
	} else {
		hsync.RenderRunText(o.IO.Out, reps)
	}
	switch {
	case failed > 0:
		return &exitError{code: ExitError, err: &silentError{errors.New("sync failed")}}
	case rejected > 0:
		return &exitError{code: ExitRejected}
	}
	return nil
}

// bar is a terminal progress bar of delivered rows and rows/s. It shows
// its own rate, in rows/s and only once rows have been flowing for a
// moment (progressbar's own reads "0 rows/hr" until it knows one), and it
// throttles frames itself so that a phase change (sync.Phaser) is always
// drawn at once.
type bar struct {
	pb   *progressbar.ProgressBar
	w    io.Writer
	name string
	now  func() time.Time

	mu      stdsync.Mutex
	first   time.Time // when the first rows were delivered
	shown   time.Time // when the last frame was drawn
	rows    int64
	pending int // rows not yet passed to pb
	phase   string
}

const (
	// barThrottle is the least time between two frames.
	barThrottle = 100 * time.Millisecond
	// rateAfter is how long rows flow before the bar shows their rate.
	rateAfter = 500 * time.Millisecond
)

func newBar(streams *IO, name string) *bar {
	return &bar{name: name, w: streams.Err, now: time.Now, pb: newProgressBar(streams.Err, name,
		progressbar.OptionShowCount(), progressbar.OptionSetItsString("rows"))}
}

// newProgressBar is a spinner until given a total (Total).
func newProgressBar(w io.Writer, desc string, opts ...progressbar.Option) *progressbar.ProgressBar {
	return progressbar.NewOptions64(-1, append([]progressbar.Option{
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionThrottle(0),
		progressbar.OptionClearOnFinish(),
	}, opts...)...)
}

func (b *bar) Total(n int64) { b.pb.ChangeMax64(n) }

func (b *bar) Add(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if b.first.IsZero() {
		b.first = now
	}
	b.rows += int64(n)
	b.pending += n
	if !b.shown.IsZero() && now.Sub(b.shown) < barThrottle {
		return
	}
	b.draw(now)
}

// Phase implements sync.Phaser: "people: committing state (N rows
// delivered)" from now on. The row bar may be complete, and a complete
// progressbar clears itself and draws nothing more: the phase gets a
// spinner of its own.
func (b *bar) Phase(what string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.phase == "" {
		b.flush()
		b.pb.Finish()
		b.pb = newProgressBar(b.w, b.name) // the description counts the rows
	}
	b.phase = what
	b.draw(b.now())
}

func (b *bar) Finish() { b.pb.Finish() }

// draw shows a frame with the rows so far.
func (b *bar) draw(now time.Time) {
	b.shown = now
	desc := b.name
	switch d := now.Sub(b.first); {
	case b.phase != "":
		desc = fmt.Sprintf("%s: %s (%d rows delivered)", b.name, b.phase, b.rows)
		b.pending = 0 // the spinner counts nothing
	case !b.first.IsZero() && d >= rateAfter:
		desc = fmt.Sprintf("%s (%s rows/s)", b.name, rate(b.rows, d))
	}
	b.flush()
	b.pb.Describe(desc)
}

// flush passes the rows not yet drawn to pb.
func (b *bar) flush() {
	if b.pending > 0 {
		b.pb.Add(b.pending) // draws with the old description: no matter
		b.pending = 0
	}
}

// rate renders rows per second over d: whole numbers, one decimal below 10.
func rate(rows int64, d time.Duration) string {
	r := float64(rows) / d.Seconds()
	if r < 10 {
		return fmt.Sprintf("%.1f", r)
	}
	return fmt.Sprintf("%.0f", r)
}
