package state_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	stdsync "sync"
	"testing"

	"github.com/hoist-dev/hoist/internal/pgtest"
	"github.com/hoist-dev/hoist/sync/state"
	"github.com/hoist-dev/hoist/sync/state/statetest"
)

// TestFileStoreConformance runs the state store suite on a folder of its
// own per check.
func TestFileStoreConformance(t *testing.T) {
	t.Parallel()
	root := func(s state.Store) string { return s.(interface{ Root() string }).Root() }
	statetest.Run(t, func(t *testing.T) state.Store {
		return openStore(t, "file://"+t.TempDir())
	}, statetest.Hooks{
		Reopen: func(t *testing.T, s state.Store) state.Store { return openStore(t, "file://"+root(s)) },
		// The only way a live runner loses a flock: its lock file is
		// deleted (by hand, or the state folder removed or moved), and the
		// next runner locks a new one.
		LoseLock: func(t *testing.T, s state.Store, sync string) {
			if err := os.Remove(filepath.Join(root(s), sync, "lock")); err != nil {
				t.Fatal(err)
			}
		},
		Crash: func(t *testing.T, s state.Store, sync, point string) (int, string) {
			return crashHelper(t, "file://"+root(s), sync, point)
		},
		CrashPoints: []string{"snapshot-renamed", "state-renamed"},
	})
}

// TestPostgresStoreConformance runs the state store suite on a state
// schema of its own per check.
func TestPostgresStoreConformance(t *testing.T) {
	var mu stdsync.Mutex
	at := map[state.Store]struct {
		url string
		db  *pgtest.DB
	}{}
	urlOf := func(s state.Store) (string, *pgtest.DB) {
		mu.Lock()
		defer mu.Unlock()
		a := at[s]
		return a.url, a.db
	}
	remember := func(s state.Store, url string, db *pgtest.DB) state.Store {
		mu.Lock()
		defer mu.Unlock()
		at[s] = struct {
			url string
			db  *pgtest.DB
		}{url, db}
		return s
	}
	statetest.Run(t, func(t *testing.T) state.Store {
		db := pgtest.New(t)
		url := db.URL + "&hoist_schema=" + db.Schema + "_state" // dropped with the test's schema
		return remember(openStore(t, url), url, db)
	}, statetest.Hooks{
		Reopen: func(t *testing.T, s state.Store) state.Store {
			url, db := urlOf(s)
			return remember(openStore(t, url), url, db)
		},
		// The lock is a session's: an admin ending the session (or a
		// dropped connection) takes it away.
		LoseLock: func(t *testing.T, s state.Store, sync string) {
			backend, ok := state.PostgresLockBackend(s, sync)
			if !ok {
				t.Fatalf("the store holds no lock on %s", sync)
			}
			_, db := urlOf(s)
			db.Exec(t, fmt.Sprintf("SELECT pg_terminate_backend(%d)", backend))
		},
		Crash: func(t *testing.T, s state.Store, sync, point string) (int, string) {
			url, _ := urlOf(s)
			return crashHelper(t, url, sync, point)
		},
	})
}

func openStore(t *testing.T, url string) state.Store {
	t.Helper()
	s, err := state.Open(context.Background(), url, "")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const conformanceHelperEnv = "HOIST_STATETEST_HELPER"

// TestStoreConformanceHelperProcess is not a test: the crash checks run the
// test binary again with conformanceHelperEnv set to get a process that
// dies in the middle of a commit.
func TestStoreConformanceHelperProcess(t *testing.T) {
	url := os.Getenv(conformanceHelperEnv)
	if url == "" {
		t.Skip("helper process only")
	}
	sync, point := os.Getenv("HOIST_STATETEST_SYNC"), os.Getenv("HOIST_STATETEST_POINT")
	state.SetCrashHook(func(stage string) {
		if stage == point {
			os.Exit(statetest.CrashExit)
		}
	})
	s, err := state.Open(context.Background(), url, "")
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	if err := statetest.CrashChild(s, sync, point); err != nil {
		fmt.Println("commit:", err)
		os.Exit(3)
	}
	os.Exit(0)
}

func crashHelper(t *testing.T, url, sync, point string) (int, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestStoreConformanceHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), conformanceHelperEnv+"="+url, "HOIST_STATETEST_SYNC="+sync, "HOIST_STATETEST_POINT="+point)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return ee.ExitCode(), string(out)
	case err != nil:
		t.Fatalf("run the crash helper: %v", err)
	}
	return 0, string(out)
}
