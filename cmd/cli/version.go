package cli

import (
	"encoding/json"
	"fmt"
	"runtime"

	"github.com/spf13/cobra"
)

// Set at build time with -ldflags "-X github.com/hoist-dev/hoist/cmd/cli.Version=…".
var (
	Version = "dev"
	Commit  = "none"
	Date    = "unknown"
)

// NewCmdVersion builds `hoist version`.
func NewCmdVersion(streams *IO, g *GlobalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print version, commit and build date",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if g.Output == "json" {
				return json.NewEncoder(streams.Out).Encode(map[string]string{
					"version": Version, "commit": Commit, "date": Date, "go": runtime.Version(),
				})
			}
			fmt.Fprintf(streams.Out, "hoist %s (commit %s, built %s, %s)\n", Version, Commit, Date, runtime.Version())
			return nil
		},
	}
}
