package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// specArg is the argument check of every command that takes one spec file.
// The root silences cobra's usage output (a failed sync is no usage error),
// so a wrong argument count prints the command's usage itself: a user who
// typed `hoist run` sees what to type instead.
func specArg(cmd *cobra.Command, args []string) error {
	if len(args) == 1 {
		return nil
	}
	what := "missing the spec file (SPEC)"
	if len(args) > 1 {
		what = fmt.Sprintf("takes one spec file, got %d arguments: %s", len(args), strings.Join(args, " "))
	}
	return fmt.Errorf("%s: %s\n\n%s", cmd.CommandPath(), what, strings.TrimRight(cmd.UsageString(), "\n"))
}
