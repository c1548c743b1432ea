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

// TestIdentityRoundTrip: both stores keep the identity a commit records, a
// commit without one keeps it, and reset forgets it with the snapshot.
func TestIdentityRoundTrip(t *testing.T) {
	stores := map[string]func(t *testing.T) Store{
		"file":     func(t *testing.T) Store { return openTestStore(t, t.TempDir()) },
		"postgres": func(t *testing.T) Store { s, _ := openPGStore(t); return s },
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			ctx := context.Background()
			id := &Identity{Source: "files:. path=a.csv", Destination: "sqlite:dest.db object=p", PrimaryKey: []string{"id"}, Schema: "abc"}
			if err := s.Commit(ctx, "s", &Commit{Identity: id, Run: Run{Status: "ok"}}); err != nil {
				t.Fatal(err)
			}
			if err := s.Commit(ctx, "s", &Commit{Run: Run{Status: "ok"}}); err != nil {
				t.Fatal(err)
			}
			st, err := s.Get(ctx, "s")
			if err != nil || st.Identity == nil || st.Identity.Destination != id.Destination || st.Identity.PrimaryKey[0] != "id" || st.Identity.Schema != "abc" {
				t.Fatalf("identity after two commits: %+v %v", st.Identity, err)
			}
			if err := s.Reset(ctx, "s"); err != nil {
				t.Fatal(err)
			}
			if st, err := s.Get(ctx, "s"); err != nil || st.Identity != nil {
				t.Fatalf("identity after reset: %+v %v", st.Identity, err)
			}
		})
	}
}
