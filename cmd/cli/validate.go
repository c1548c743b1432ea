package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
		Short: "Check a spec: types, references, modes, env vars (--connect also checks every connection)",
		Args:  specArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Spec = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runValidate(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Connect, "connect", false, "also check every connection the syncs use and the state store, writing nothing")
	return cmd
}

func runValidate(ctx context.Context, o *ValidateOptions) error {
	f, syncs, err := loadSpec(o.Spec, o.Global)
	if err != nil {
		return err
	}
	warnings := f.Warnings
	if o.Connect {
		notices, err := connectAll(ctx, f, syncs)
		warnings = append(warnings, notices...)
		if err != nil {
			printWarnings(o.IO.Err, warnings)
			return err
		}
	}
	printWarnings(o.IO.Err, warnings)
	if o.Global.Output == "json" {
		rep := struct {
			Spec     string   `json:"spec"`
			Valid    bool     `json:"valid"`
			Syncs    int      `json:"syncs"`
			Warnings []string `json:"warnings"`
		}{o.Spec, true, len(syncs), []string{}}
		for _, w := range warnings {
			rep.Warnings = append(rep.Warnings, w.Error())
		}
		return json.NewEncoder(o.IO.Out).Encode(rep)
	}
	fmt.Fprintf(o.IO.Out, "%s is valid: %d sync(s), %d connection(s)\n", o.Spec, len(syncs), len(f.Connections))
	return nil
}

// printWarnings prints doubts that do not fail the command, one a line.
func printWarnings(w io.Writer, warnings []*spec.Problem) {
	for _, p := range warnings {
		fmt.Fprintln(w, "warning:", p)
	}
}

// connectAll checks every connection the syncs use, as source or
// destination, without writing anything, and reports every failure; the
// notices are what the user should know that is not an error.
func connectAll(ctx context.Context, f *spec.File, syncs []*spec.Sync) ([]*spec.Problem, error) {
	srcs, dsts := map[string]bool{}, map[string]bool{}
	for _, s := range syncs {
		srcs[s.Source.Connection] = true
		dsts[s.Destination.Connection] = true
	}
	var errs []error
	var notices []*spec.Problem
	for _, name := range sortedKeys(srcs) {
		if err := extract.Check(ctx, f.Connections[name], f.Dir); err != nil {
			errs = append(errs, f.Problem("connections."+name, "%v", err))
		}
	}
	for _, name := range sortedKeys(dsts) {
		notice, err := load.Check(ctx, f.Connections[name], f.Dir)
		if err != nil {
			errs = append(errs, f.Problem("connections."+name, "%v", err))
			continue
		}
		if notice != "" {
			notices = append(notices, f.Problem("connections."+name, "%s", notice))
		}
	}
	for _, s := range syncs {
		conn := f.Connections[s.Destination.Connection]
		if conn == nil {
			continue
		}
		if err := load.CheckSync(ctx, conn, f.Dir, s); err != nil {
			errs = append(errs, f.Problem(s.Field()+".destination", "%v", err))
		}
	}
	if s, err := openStore(ctx, f); err != nil {
		errs = append(errs, f.Problem("state", "%v", err))
	} else {
		s.Close()
	}
	return notices, errors.Join(errs...)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
