package state

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestFileJobs: recorded jobs are kept per sync, replaced, listed and
// deleted; a sync name with unsafe bytes gets a folder of its own.
func TestFileJobs(t *testing.T) {
	s, err := Open(context.Background(), "file://"+t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	testJobs(t, s.(JobStore))
}

// TestFileJobsKilledPut: a PutJob killed before its rename leaves a temp
// file, which the next Jobs (the rerun's, under the sync's lock) removes
// without listing it.
func TestFileJobsKilledPut(t *testing.T) {
	root := t.TempDir()
	s, err := Open(context.Background(), "file://"+root, "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fs := s.(*fileStore)
	ctx := context.Background()
	if err := fs.PutJob(ctx, "opps", "750A", []byte("one")); err != nil {
		t.Fatal(err)
	}
	left := filepath.Join(fs.jobsFolder("opps"), tempPrefix+"job-123")
	if err := os.WriteFile(left, []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := fs.Jobs(ctx, "opps")
	if err != nil || len(got) != 1 || string(got["750A"]) != "one" {
		t.Fatalf("jobs %v %v", got, err)
	}
	if _, err := os.Stat(left); !os.IsNotExist(err) {
		t.Fatalf("the killed PutJob's temp file is still there: %v", err)
	}
}

// TestPostgresJobs: the same of the PostgreSQL store.
func TestPostgresJobs(t *testing.T) {
	s, _ := openPGStore(t)
	testJobs(t, s.(JobStore))
}

func testJobs(t *testing.T, js JobStore) {
	ctx := context.Background()
	for _, sync := range []string{"opps", "../odd name"} {
		if err := js.PutJob(ctx, sync, "750A", []byte("one")); err != nil {
			t.Fatal(err)
		}
		if err := js.PutJob(ctx, sync, "750A", []byte("one, again")); err != nil {
			t.Fatal(err)
		}
		if err := js.PutJob(ctx, sync, "750B", []byte(sync)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := js.Jobs(ctx, "opps")
	if err != nil || fmt.Sprint(got) != "map[750A:[111 110 101 44 32 97 103 97 105 110] 750B:[111 112 112 115]]" {
		t.Fatalf("jobs %v %v", got, err)
	}
	if err := js.DeleteJobs(ctx, "opps", []string{"750A", "750Z"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := js.Jobs(ctx, "opps"); len(got) != 1 || string(got["750B"]) != "opps" {
		t.Errorf("after delete: %v", got)
	}
	if got, _ := js.Jobs(ctx, "../odd name"); len(got) != 2 || string(got["750B"]) != "../odd name" {
		t.Errorf("the other sync's jobs: %v", got)
	}
	if got, err := js.Jobs(ctx, "never"); err != nil || len(got) != 0 {
		t.Errorf("a sync without jobs: %v %v", got, err)
	}
}
