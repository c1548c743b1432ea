package cli

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
)

//go:embed starter.yaml
var starterSpec string

// InitOptions are `hoist init`'s inputs.
type InitOptions struct {
	IO    *IO
	Path  string
	Force bool
}

// NewCmdInit builds `hoist init`.
func NewCmdInit(streams *IO, runF func(context.Context, *InitOptions) error) *cobra.Command {
	opts := &InitOptions{IO: streams}
	cmd := &cobra.Command{
		Use:   "init [PATH]",
		Short: "Write a commented starter spec (default hoist.yaml)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Path = "hoist.yaml"
			if len(args) == 1 {
				opts.Path = args[0]
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runInit(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Force, "force", false, "overwrite an existing file")
	return cmd
}

func runInit(o *InitOptions) error {
	// `hoist init sub/x.yaml` makes sub/, as `mkdir -p` would: the user
	// named where the spec goes.
	if dir := filepath.Dir(o.Path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("write starter spec %s: %w", o.Path, err)
		}
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if o.Force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(o.Path, flags, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s already exists (use --force to overwrite)", o.Path)
	}
	if err != nil {
		return fmt.Errorf("write starter spec: %w", err)
	}
	if _, err := f.WriteString(starterSpec); err != nil {
		f.Close()
		return fmt.Errorf("write starter spec %s: %w", o.Path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write starter spec %s: %w", o.Path, err)
	}
	fmt.Fprintf(o.IO.Out, "wrote %s: edit it, then `hoist validate %s` and `hoist plan %s`\n", o.Path, o.Path, o.Path)
	return nil
}
