package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	hsync "github.com/hoist-dev/hoist/sync"
)

// PlanOptions are `hoist plan`'s inputs.
type PlanOptions struct {
	IO               *IO
	Global           *GlobalOptions
	Spec             string
	Limit            int
	DetailedExitCode bool
	FullRefresh      bool
	Refresh          bool
	TempDir          string
	Parallel         int
	Shard            ShardOptions
}

// NewCmdPlan builds `hoist plan`.
func NewCmdPlan(streams *IO, g *GlobalOptions, runF func(context.Context, *PlanOptions) error) *cobra.Command {
	opts := &PlanOptions{IO: streams, Global: g}
	cmd := &cobra.Command{
		Use:   "plan SPEC",
		Short: "Show what run would add, change and remove, writing nothing anywhere",
		Args:  specArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Spec = args[0]
			if opts.Parallel < 1 {
				return fmt.Errorf("--parallel must be at least 1 (got %d)", opts.Parallel)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runPlan(cmd.Context(), opts)
		},
	}
	cmd.Flags().IntVar(&opts.Limit, "limit", hsync.DefaultPlanLimit, "sample rows shown per operation")
	cmd.Flags().BoolVar(&opts.DetailedExitCode, "detailed-exitcode", false, "exit 2 when changes are pending, 0 when none")
	cmd.Flags().BoolVar(&opts.FullRefresh, "full-refresh", false, "plan as if cursors were reset (run --full-refresh)")
	cmd.Flags().BoolVar(&opts.Refresh, "refresh", false, "diff against the destination's actual rows instead of the snapshot: show drift (postgres, sqlite, files)")
	cmd.Flags().StringVar(&opts.TempDir, "temp-dir", "", "folder for the plan's spill files (default $TMPDIR, else /tmp)")
	cmd.Flags().IntVar(&opts.Parallel, "parallel", DefaultParallel, "syncs planned at once; plans stay in spec order")
	opts.Shard.addFlags(cmd.Flags(), false)
	return cmd
}

func runPlan(ctx context.Context, o *PlanOptions) error {
	f, syncs, store, err := openSpec(ctx, o.Spec, o.Global)
	if err != nil {
		return err
	}
	defer store.Close()
	opt := hsync.Options{
		Limit: o.Limit, FullRefresh: o.FullRefresh, Refresh: o.Refresh, Logger: o.Global.logger(o.IO.Err), TempDir: o.TempDir,
	}
	if syncs, err = o.Shard.apply(&opt, syncs, func(f string, a ...any) { opt.Logger.Info(fmt.Sprintf(f, a...)) }); err != nil {
		return err
	}
	r := &hsync.Runner{File: f, Store: store, Opt: opt}
	all, errs := r.PlanAll(ctx, syncs, o.Parallel)
	var plans []*hsync.PlanReport
	pending := false
	for _, p := range all {
		if p != nil {
			pending = pending || p.Pending()
			plans = append(plans, p)
		}
	}
	if o.Global.Output == "json" {
		if err := hsync.RenderPlanJSON(o.IO.Out, plans); err != nil {
			return err
		}
	} else {
		hsync.RenderPlanText(o.IO.Out, plans, o.IO.outIsTerminal())
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if o.DetailedExitCode && pending {
		return &exitError{code: ExitPending}
	}
	return nil
}
