package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hoist-dev/hoist/sync/spec"
)

// NewCmdSchema builds `hoist schema`: the JSON Schema of the spec format,
// generated from the spec's types and the connectors this binary has, for
// editors with a YAML language server.
func NewCmdSchema(streams *IO) *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of the spec format (for editor completion and checks)",
		Long: "Print the JSON Schema (draft 2020-12) of hoist's spec format on stdout.\n\n" +
			"  hoist schema > hoist.schema.json\n\n" +
			"then start a spec with\n\n" +
			"  # yaml-language-server: $schema=./hoist.schema.json",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := spec.JSONSchema()
			if err != nil {
				return err
			}
			if _, err := streams.Out.Write(data); err != nil {
				return fmt.Errorf("write schema: %w", err)
			}
			return nil
		},
	}
}
