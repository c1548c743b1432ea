// Package cli is hoist's command line: one file per command, each with an
// options struct, and exit.go mapping errors to exit codes.
package cli

import (
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// IO holds the streams commands use, so tests can capture them.
type IO struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// errIsTerminal reports whether stderr is a terminal (progress bars, color).
func (s *IO) errIsTerminal() bool {
	f, ok := s.Err.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// outIsTerminal reports whether stdout is a terminal (plan colors).
func (s *IO) outIsTerminal() bool {
	f, ok := s.Out.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// GlobalOptions are the flags every command takes (docs/spec.md, "Commands").
type GlobalOptions struct {
	Syncs     []string
	Output    string
	State     string
	LogFormat string
	Quiet     bool
	Verbose   bool
}

// NewRootCmd builds the hoist command tree.
func NewRootCmd(streams *IO) *cobra.Command {
	g := &GlobalOptions{}
	root := &cobra.Command{
		Use:           "hoist",
		Short:         "Reverse ETL and bulk data sync: warehouse → CRMs, APIs and databases, safely",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if g.Output != "text" && g.Output != "json" {
				return fmt.Errorf("--output must be text or json, not %q", g.Output)
			}
			if g.LogFormat != "text" && g.LogFormat != "json" {
				return fmt.Errorf("--log-format must be text or json, not %q", g.LogFormat)
			}
			return nil
		},
	}
	root.SetOut(streams.Out)
	root.SetErr(streams.Err)
	pf := root.PersistentFlags()
	pf.StringArrayVar(&g.Syncs, "sync", nil, "run only this sync (repeatable; default all)")
	pf.StringVarP(&g.Output, "output", "o", "text", "report format: text or json")
	pf.StringVar(&g.State, "state", "", "state store URL (file://DIR or postgres://…), overrides the spec")
	pf.StringVar(&g.LogFormat, "log-format", "text", "log format on stderr: text or json")
	pf.BoolVarP(&g.Quiet, "quiet", "q", false, "log only warnings and errors; no progress bars")
	pf.BoolVarP(&g.Verbose, "verbose", "v", false, "log every batch")

	root.AddCommand(
		NewCmdValidate(streams, g, nil),
		NewCmdPlan(streams, g, nil),
		NewCmdRun(streams, g, nil),
		NewCmdState(streams, g),
		NewCmdInit(streams, nil),
		NewCmdSchema(streams),
		NewCmdVersion(streams, g),
	)
	return root
}

// logger builds the slog logger for stderr.
func (g *GlobalOptions) logger(w io.Writer) *slog.Logger {
	level := slog.LevelInfo
	if g.Quiet {
		level = slog.LevelWarn
	}
	if g.Verbose {
		level = slog.LevelDebug
	}
	opts := &slog.HandlerOptions{Level: level}
	if g.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
