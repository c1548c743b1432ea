package cli

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/hoist-dev/hoist/sync/spec"
	"github.com/hoist-dev/hoist/sync/state"

	// Connectors register themselves by connection type.
	_ "github.com/hoist-dev/hoist/extract"
	_ "github.com/hoist-dev/hoist/load"
)

// loadSpec reads and validates the spec and picks the syncs --sync names.
// With --sync, an unset variable that only other syncs need is no error.
func loadSpec(path string, g *GlobalOptions) (*spec.File, []*spec.Sync, error) {
	f, err := spec.LoadSyncs(path, g.Syncs)
	if err != nil {
		return nil, nil, err
	}
	if g.State != "" {
		// A path typed on the command line is relative to the working
		// directory, as every shell argument is.
		cwd, err := os.Getwd()
		if err != nil {
			return nil, nil, fmt.Errorf("--state: %w", err)
		}
		f.State = spec.ResolveState(g.State, cwd)
		f.DefaultState = false
	}
	if len(g.Syncs) == 0 {
		return f, f.Syncs, nil
	}
	var out []*spec.Sync
	var unknown []string
	for _, name := range g.Syncs {
		s := f.SyncByName(name)
		if s == nil {
			unknown = append(unknown, name)
			continue
		}
		out = append(out, s)
	}
	if len(unknown) > 0 {
		names := make([]string, len(f.Syncs))
		for i, s := range f.Syncs {
			names[i] = s.Name
		}
		return nil, nil, fmt.Errorf("%s: no sync named %s (syncs: %s)", path, strings.Join(unknown, ", "), strings.Join(names, ", "))
	}
	return f, out, nil
}

// openStore opens the state store; spec.Load and loadSpec have made its URL
// absolute already.
func openStore(ctx context.Context, f *spec.File) (state.Store, error) {
	return state.Open(ctx, f.State, f.LegacyStateDir())
}

// openSpec loads the spec, picks the syncs and opens the state store; the
// caller closes the store.
func openSpec(ctx context.Context, path string, g *GlobalOptions) (*spec.File, []*spec.Sync, state.Store, error) {
	f, syncs, err := loadSpec(path, g)
	if err != nil {
		return nil, nil, nil, err
	}
	store, err := openStore(ctx, f)
	if err != nil {
		return nil, nil, nil, err
	}
	return f, syncs, store, nil
}
