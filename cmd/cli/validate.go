package cli

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/spf13/cobra"

	"github.com/hoist-dev/hoist/extract"
	"github.com/hoist-dev/hoist/load"
	"github.com/hoist-dev/hoist/sync/spec"
)

// ValidateOptions are `hoist validate`'s inputs.
type ValidateOptions struct {
	IO      *IO
	Global  *GlobalOptions
	Spec    string
	Connect bool
}

// NewCmdValidate builds `hoist validate`; runF replaces the action in tests.
func NewCmdValidate(streams *IO, g *GlobalOptions, runF func(context.Context, *ValidateOptions) error) *cobra.Command {
	opts := &ValidateOptions{IO: streams, Global: g}
	cmd := &cobra.Command{
		Use:   "validate SPEC",
		Short: "Check a spec: types, references, modes, env vars (--connect also opens every connection)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Spec = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runValidate(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Connect, "connect", false, "also open every connection the spec uses")
	return cmd
}

func runValidate(ctx context.Context, o *ValidateOptions) error {
	f, syncs, err := loadSpec(o.Spec, o.Global)
	if err != nil {
		return err
	}
	if o.Connect {
		if err := connectAll(ctx, f, syncs); err != nil {
			return err
		}
	}
	if o.Global.Output == "json" {
		fmt.Fprintf(o.IO.Out, "{\"spec\":%q,\"valid\":true,\"syncs\":%d}\n", o.Spec, len(syncs))
		return nil
	}
	fmt.Fprintf(o.IO.Out, "%s is valid: %d sync(s), %d connection(s)\n", o.Spec, len(syncs), len(f.Connections))
	return nil
}

// connectAll opens every connection the syncs use, as source or destination,
// and reports every failure.
func connectAll(ctx context.Context, f *spec.File, syncs []*spec.Sync) error {
	srcs, dsts := map[string]bool{}, map[string]bool{}
	for _, s := range syncs {
		srcs[s.Source.Connection] = true
		dsts[s.Destination.Connection] = true
	}
	var errs []error
	for _, name := range sortedKeys(srcs) {
		src, err := extract.Open(ctx, f.Connections[name], f.Dir)
		if err != nil {
			errs = append(errs, f.Problem("connections."+name, "%v", err))
			continue
		}
		src.Close()
	}
	for _, name := range sortedKeys(dsts) {
		d, err := load.Open(ctx, f.Connections[name], f.Dir)
		if err != nil {
			errs = append(errs, f.Problem("connections."+name, "%v", err))
			continue
		}
		d.Close()
	}
	if s, err := openStore(ctx, f); err != nil {
		errs = append(errs, f.Problem("state", "%v", err))
	} else {
		s.Close()
	}
	return errors.Join(errs...)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
