package state

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	stdsync "sync"
	"sync/atomic"
	"testing"
	"time"
)

const fileHelperEnv = "HOIST_STATE_TEST_HELPER"

// TestFileStoreHelperProcess is not a test: the lock and crash tests re-run the test
// binary with fileHelperEnv set to get a second process.
func TestFileStoreHelperProcess(t *testing.T) {
	mode := os.Getenv(fileHelperEnv)
	if mode == "" {
		t.Skip("helper process only")
	}
	root, sync := os.Getenv("HOIST_STATE_ROOT"), os.Getenv("HOIST_STATE_SYNC")
	s := newFileStore(root)
	ctx := context.Background()
	switch mode {
	case "lock":
		// Hold the lock until stdin closes (or the parent kills us).
		l, err := s.Lock(ctx, sync, 0)
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(2)
		}
		fmt.Println("locked")
		io.Copy(io.Discard, os.Stdin)
		if err := l.Release(); err != nil {
			fmt.Println("error:", err)
			os.Exit(2)
		}
	case "crash":
		// Die for real between the snapshot rename and the state rename.
		crashHook = func(stage string) {
			if stage == "snapshot-renamed" {
				os.Exit(7)
			}
		}
		if os.Getenv("HOIST_STATE_DELTA") != "" {
			// a small change to a large snapshot: a delta table
			commitDelta(t, s, sync, Entry{Key: custKey(nil, 5), Row: []byte("new")})
		} else {
			commitDelta(t, s, sync, kvEntries("a=new", "b=2")...)
		}
	}
	os.Exit(0)
}

func fileHelperCmd(t *testing.T, mode, root, sync string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFileStoreHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), fileHelperEnv+"="+mode, "HOIST_STATE_ROOT="+root, "HOIST_STATE_SYNC="+sync)
	return cmd
}

func TestFileLockExcludesGoroutines(t *testing.T) {
	t.Parallel()
	s := openTestStore(t, t.TempDir())
	ctx := context.Background()
	var inside, maxInside, entered atomic.Int32
	var wg stdsync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				l, err := s.Lock(ctx, "s", 10*time.Second)
				if err != nil {
					t.Error(err)
					return
				}
				n := inside.Add(1)
				for {
					m := maxInside.Load()
					if n <= m || maxInside.CompareAndSwap(m, n) {
						break
					}
				}
				entered.Add(1)
				time.Sleep(2 * time.Millisecond)
				inside.Add(-1)
				if err := l.Release(); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if maxInside.Load() != 1 || entered.Load() != 40 {
		t.Fatalf("%d runners inside at once, %d entries (want 1, 40)", maxInside.Load(), entered.Load())
	}
}

func TestFileLockTimeoutNamesHolder(t *testing.T) {
	t.Parallel()
	s := openTestStore(t, t.TempDir())
	ctx := context.Background()
	held, err := s.Lock(ctx, "customers", 0)
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	tests := []struct {
		name string
		wait time.Duration
	}{{"try once", 0}, {"wait", 300 * time.Millisecond}}
	for _, tc := range tests {
		start := time.Now()
		_, err := s.Lock(ctx, "customers", tc.wait)
		took := time.Since(start)
		if !errors.Is(err, ErrLocked) {
			t.Fatalf("%s: err = %v, want ErrLocked", tc.name, err)
		}
		want := fmt.Sprintf("sync customers is locked by pid %d on host %s since ", os.Getpid(), host)
		if !strings.HasPrefix(err.Error(), want) {
			t.Fatalf("%s: err = %q, want prefix %q", tc.name, err, want)
		}
		var le *LockedError
		if !errors.As(err, &le) || time.Since(le.Holder.StartedAt) > time.Minute {
			t.Fatalf("%s: holder = %+v", tc.name, le)
		}
		if took < tc.wait || took > tc.wait+time.Second {
			t.Fatalf("%s: Lock returned after %v, want about %v", tc.name, took, tc.wait)
		}
	}
	// A waiter gets the lock once it is released.
	go func() { time.Sleep(150 * time.Millisecond); held.Release() }()
	l, err := s.Lock(ctx, "customers", 5*time.Second)
	if err != nil {
		t.Fatalf("waiter: %v", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if err := l.Release(); err != nil {
		t.Fatalf("second Release: %v", err)
	}
	// Other syncs are independent.
	a, err := s.Lock(ctx, "a", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Release()
	b, err := s.Lock(ctx, "b", 0)
	if err != nil {
		t.Fatalf("lock of another sync blocked: %v", err)
	}
	b.Release()
}

func TestFileLockCanceled(t *testing.T) {
	t.Parallel()
	s := openTestStore(t, t.TempDir())
	held, err := s.Lock(context.Background(), "s", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = s.Lock(ctx, "s", time.Hour)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Fatalf("err = %v after %v, want deadline exceeded promptly", err, time.Since(start))
	}
}

func TestFileLockExcludesProcesses(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	s := openTestStore(t, root)
	ctx := context.Background()

	tests := []struct {
		name string
		end  func(cmd *exec.Cmd, stdin io.Closer) // how the holder lets go
	}{
		{"release", func(_ *exec.Cmd, stdin io.Closer) { stdin.Close() }},
		{"killed", func(cmd *exec.Cmd, _ io.Closer) { cmd.Process.Kill() }}, // the kernel drops the lock: no stale lock
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := fileHelperCmd(t, "lock", root, "shared")
			stdin, _ := cmd.StdinPipe()
			stdout, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			line, _ := bufio.NewReader(stdout).ReadString('\n')
			if line != "locked\n" {
				t.Fatalf("helper said %q", line)
			}
			_, err := s.Lock(ctx, "shared", 200*time.Millisecond)
			want := "sync shared is locked by pid " + strconv.Itoa(cmd.Process.Pid) + " on host "
			if !errors.Is(err, ErrLocked) || !strings.HasPrefix(err.Error(), want) {
				t.Fatalf("err = %v, want prefix %q", err, want)
			}
			tc.end(cmd, stdin)
			l, err := s.Lock(ctx, "shared", 10*time.Second)
			if err != nil {
				t.Fatalf("after holder let go: %v", err)
			}
			defer l.Release()
			cmd.Wait()
			// and now the child cannot take it
			child := fileHelperCmd(t, "lock", root, "shared")
			out, _ := child.Output()
			if !strings.Contains(string(out), "sync shared is locked by pid "+strconv.Itoa(os.Getpid())) {
				t.Fatalf("child while parent holds the lock: %q", out)
			}
		})
	}
}

// TestFileCrashBetweenRenames kills a process after it renamed the new
// snapshot in but before state.json: the old pair must still be what readers
// see, and the next commit must clean up.
func TestFileCrashBetweenRenames(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	s := openTestStore(t, root)
	ctx := context.Background()
	commitDelta(t, s, "s", kvEntries("a=old")...)

	out, err := fileHelperCmd(t, "crash", root, "s").CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 7 {
		t.Fatalf("helper did not crash at the hook: %v\n%s", err, out)
	}
	dir, _ := s.syncDir("s")
	if _, err := os.Stat(dir + "/snapshot-2.bin"); err != nil {
		t.Fatalf("crash left no orphan generation, so the test proves nothing: %v", err)
	}
	if got := snapshotOf(t, s, "s"); !equalEntries(got, kvEntries("a=old")) {
		t.Fatalf("snapshot after crash = %s, want the old one", entriesString(got))
	}
	if st, _ := s.Get(ctx, "s"); st.SnapshotRows != 1 {
		t.Fatalf("state after crash = %+v", st)
	}
	commitDelta(t, s, "s", kvEntries("c=3")...)
	if got := snapshotOf(t, s, "s"); !equalEntries(got, kvEntries("a=old", "c=3")) {
		t.Fatalf("snapshot after next commit = %s", entriesString(got))
	}
	files := snapshotFiles(t, dir)
	for _, f := range files {
		if strings.HasPrefix(f, tempPrefix) || (strings.HasPrefix(f, snapshotPrefix) && f != "snapshot-2.bin") {
			t.Fatalf("leftover %s after next commit (files %v)", f, files)
		}
	}
}

// TestFileCrashBetweenRenamesOfADelta: the same crash in a commit that
// appends a delta table: readers keep seeing the old snapshot, and the next
// commit deletes the orphan delta.
func TestFileCrashBetweenRenamesOfADelta(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	s := openTestStore(t, root)
	ctx := context.Background()
	if err := s.Commit(ctx, "s", &Commit{Delta: custIter(1000, 0)}); err != nil {
		t.Fatal(err)
	}
	before := snapshotOf(t, s, "s")
	cmd := fileHelperCmd(t, "crash", root, "s")
	cmd.Env = append(cmd.Env, "HOIST_STATE_DELTA=1")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 7 {
		t.Fatalf("helper did not crash at the hook: %v\n%s", err, out)
	}
	dir, _ := s.syncDir("s")
	if _, err := os.Stat(dir + "/delta-2.bin"); err != nil {
		t.Fatalf("crash left no orphan delta, so the test proves nothing: %v", err)
	}
	if got := snapshotOf(t, s, "s"); !equalEntries(got, before) {
		t.Fatalf("snapshot after crash has %d entries, changed from the old one", len(got))
	}
	commitDelta(t, s, "s", Entry{Key: custKey(nil, 7), Row: []byte("seven")})
	st, _ := readState(dir, "s")
	if len(st.Deltas) != 1 || st.Deltas[0].File != "delta-2.bin" || st.SnapshotRows != 1000 {
		t.Fatalf("state after next commit: %+v", st)
	}
	got := snapshotOf(t, s, "s")
	if string(got[5].Row) == "new" || string(got[7].Row) != "seven" {
		t.Fatalf("snapshot after next commit: key 5 %q, key 7 %q", got[5].Row, got[7].Row)
	}
	for _, f := range snapshotFiles(t, dir) {
		if strings.HasPrefix(f, tempPrefix) {
			t.Fatalf("leftover %s after next commit", f)
		}
	}
}
