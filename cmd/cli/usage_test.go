package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSpecCommandsPrintUsage: a command that takes a spec file, typed
// without one (or with two), says what is missing, prints its usage and
// exits 1.
func TestSpecCommandsPrintUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run"}, "hoist run SPEC [flags]"},
		{[]string{"plan"}, "hoist plan SPEC [flags]"},
		{[]string{"validate"}, "hoist validate SPEC [flags]"},
		{[]string{"state", "show"}, "hoist state show SPEC [flags]"},
		{[]string{"run", "a.yaml", "b.yaml"}, "hoist run SPEC [flags]"},
	} {
		t.Run(strings.Join(tc.args, "_"), func(t *testing.T) {
			res := hoist(t, t.TempDir(), nil, tc.args...)
			if res.code != 1 {
				t.Fatalf("exit %d, want 1: %s", res.code, res.stderr)
			}
			if !strings.Contains(res.stderr, "Usage:") || !strings.Contains(res.stderr, tc.want) {
				t.Fatalf("no usage on stderr:\n%s", res.stderr)
			}
			if len(tc.args) < 3 && !strings.Contains(res.stderr, "missing the spec file") {
				t.Fatalf("does not say what is missing:\n%s", res.stderr)
			}
		})
	}
}

// TestInitMakesTheFolder: `hoist init sub/x.yaml` creates sub/ (and deeper),
// and the spec written there validates.
func TestInitMakesTheFolder(t *testing.T) {
	dir := t.TempDir()
	for _, path := range []string{"sub/x.yaml", "a/b/c/hoist.yaml"} {
		if res := hoist(t, dir, nil, "init", path); res.code != 0 {
			t.Fatalf("init %s: exit %d: %s", path, res.code, res.stderr)
		}
		if _, err := os.Stat(filepath.Join(dir, path)); err != nil {
			t.Fatal(err)
		}
		if res := hoist(t, dir, nil, "validate", path); res.code != 0 {
			t.Fatalf("validate %s: %s", path, res.stderr)
		}
	}
}
