package main

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// crashBin is hoist built with the crash test hook (crashhook.go).
var crashBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hoist-crash-*")
	if err != nil {
		panic(err)
	}
	crashBin = filepath.Join(dir, "hoist")
	build := exec.Command("go", "build", "-tags", "minicore_disabled,hoist_crashtest", "-o", crashBin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build hoist:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func runHoist(t *testing.T, dir string, env []string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(crashBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &errb, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), errb.String()
}

// TestCrashNeverExits2: a runtime crash of every kind ends with ExitCrash
// (70) or 128+signal, never 2, which `plan --detailed-exitcode` uses for
// "changes pending"; the runtime's own report still reaches stderr.
func TestCrashNeverExits2(t *testing.T) {
	for _, tc := range []struct {
		crash string
		code  int
		want  string
	}{
		{"oom", 70, "fatal error: out of memory"},
		{"panic", 70, "panic: crash test"},
		{"exit2", 70, "hoist crashed (exit 2)"},
		{"sigkill", 128 + 9, "killed by signal 9"},
	} {
		t.Run(tc.crash, func(t *testing.T) {
			code, out := runHoist(t, t.TempDir(), []string{"HOIST_CRASH_TEST=" + tc.crash}, "version")
			if code != tc.code || !strings.Contains(out, tc.want) {
				t.Fatalf("exit %d, want %d, output with %q:\n%.2000s", code, tc.code, tc.want, out)
			}
		})
	}
}

// TestExitCodesPassThrough: the supervisor exits with the code hoist chose:
// 0, 1, 2 (pending changes) and 3 (rejected rows).
func TestExitCodesPassThrough(t *testing.T) {
	dir := t.TempDir()
	db, err := sql.Open("sqlite", filepath.Join(dir, "dest.db"))
	if err != nil {
		t.Fatal(err)
	}
	// the destination rejects the row with n < 0
	if _, err := db.Exec(`CREATE TABLE people (id INTEGER PRIMARY KEY, n INTEGER CHECK (n >= 0))`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	os.WriteFile(filepath.Join(dir, "people.csv"), []byte("id,n\n1,1\n2,-2\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "hoist.yaml"), []byte(`version: 1
connections:
  src: {type: files, path: ., format: csv}
  db: {type: sqlite, path: ./dest.db}
syncs:
  - name: people
    source: {connection: src, path: people.csv}
    destination: {connection: db, object: people, mode: upsert, primary_key: [id]}
`), 0o644)
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"version"}, 0},
		{[]string{"validate", "missing.yaml"}, 1},
		{[]string{"plan", "hoist.yaml", "--detailed-exitcode"}, 2},
		{[]string{"run", "hoist.yaml"}, 3},
	} {
		if code, out := runHoist(t, dir, nil, tc.args...); code != tc.code || strings.Contains(out, "crashed") {
			t.Fatalf("%v: exit %d, want %d:\n%s", tc.args, code, tc.code, out)
		}
	}
}

// TestSignalsReachTheChild: SIGINT and SIGTERM sent to the hoist a user
// started (the supervisor) stop the run in the child, which ends the way
// an interrupted run does (exit 1), not killed and not left running.
func TestSignalsReachTheChild(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			// an HTTP source that answers only once the client gives up
			asked := make(chan struct{}, 1)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				select {
				case asked <- struct{}{}:
				default:
				}
				<-r.Context().Done()
			}))
			defer srv.Close()
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "hoist.yaml"), []byte(`version: 1
connections:
  api: {type: http, base_url: `+srv.URL+`}
  db: {type: sqlite, path: ./dest.db}
syncs:
  - name: people
    source: {connection: api, endpoint: /people}
    destination: {connection: db, object: people, mode: append, create_table: true}
`), 0o644)
			cmd := exec.Command(crashBin, "run", "hoist.yaml")
			cmd.Dir = dir
			var errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &errb, &errb
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			select {
			case <-asked:
			case <-time.After(20 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("the run never asked the source:\n%s", errb.String())
			}
			cmd.Process.Signal(sig)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("%s did not stop the run:\n%s", sig, errb.String())
			}
			if code := cmd.ProcessState.ExitCode(); code != 1 || strings.Contains(errb.String(), "killed by signal") {
				t.Fatalf("exit %d, want 1:\n%s", code, errb.String())
			}
		})
	}
}

// TestInterruptNamesSyncsNotStarted: Ctrl-C during the first of two syncs
// reports the first as interrupted, with what it delivered and committed,
// and names the second as not started.
func TestInterruptNamesSyncsNotStarted(t *testing.T) {
	asked := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case asked <- struct{}{}:
		default:
		}
		<-r.Context().Done()
	}))
	defer srv.Close()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "people.csv"), []byte("id\n1\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "hoist.yaml"), []byte(`version: 1
connections:
  api: {type: http, base_url: `+srv.URL+`}
  src: {type: files, path: ., format: csv}
  db: {type: sqlite, path: ./dest.db}
syncs:
  - name: slow
    source: {connection: api, endpoint: /people}
    destination: {connection: db, object: people, mode: append, create_table: true}
  - name: later
    source: {connection: src, path: people.csv}
    destination: {connection: db, object: later, mode: append, create_table: true}
`), 0o644)
	cmd := exec.Command(crashBin, "run", "hoist.yaml", "--parallel", "1") // one after another: "later" has not started
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-asked:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("the run never asked the source:\n%s", errb.String())
	}
	cmd.Process.Signal(syscall.SIGINT)
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 1 ||
		!strings.Contains(out.String(), "error: interrupted: 0 rows delivered and committed") ||
		!strings.Contains(errb.String(), "interrupted: not started, nothing sent: later") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
}
