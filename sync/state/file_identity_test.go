package state

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFileRefusesAnotherSyncsState (issue 10, item 2): a state folder copied
// in from another sync is refused with a message naming the file, never read
// as this sync's.
func TestFileRefusesAnotherSyncsState(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	s := openTestStore(t, root)
	ctx := context.Background()
	if err := s.Commit(ctx, "orders", &Commit{Delta: &SliceIterator{Entries: kvEntries("a=1")}, Run: Run{Status: "ok"}}); err != nil {
		t.Fatal(err)
	}
	copyDir(t, filepath.Join(root, "orders"), filepath.Join(root, "customers"))
	for name, call := range map[string]func() error{
		"Get":      func() error { _, err := s.Get(ctx, "customers"); return err },
		"Snapshot": func() error { _, err := s.Snapshot(ctx, "customers"); return err },
		"Commit":   func() error { return s.Commit(ctx, "customers", &Commit{Run: Run{Status: "ok"}}) },
	} {
		err := call()
		if err == nil || !strings.Contains(err.Error(), filepath.Join(root, "customers", stateFileName)) || !strings.Contains(err.Error(), `belongs to sync "orders"`) {
			t.Errorf("%s of a copied-in state: %v", name, err)
		}
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, folderPerm); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, filePerm); err != nil {
			t.Fatal(err)
		}
	}
}
