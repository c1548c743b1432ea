package sync_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/hoist-dev/hoist/sync/spec"
	"github.com/hoist-dev/hoist/sync/state"
)

// loadSpecAndStore writes specText as dir/hoist.yaml, loads it and opens the
// file state store beside it (closed when the test ends).
func loadSpecAndStore(t *testing.T, dir, specText string) (*spec.File, state.Store) {
	t.Helper()
	specPath := filepath.Join(dir, "hoist.yaml")
	if err := os.WriteFile(specPath, []byte(specText), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := spec.Load(specPath)
	if err != nil {
		t.Fatal(err)
	}
	store, err := state.Open(context.Background(), "file://"+filepath.Join(dir, ".hoist"), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return f, store
}
