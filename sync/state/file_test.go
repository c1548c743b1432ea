package state

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/hoist-dev/hoist/internal/cursor"
)

func TestFileOpenResolvesFolder(t *testing.T) {
	t.Parallel()
	abs := t.TempDir()
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	// The spec resolves its relative state folder against its own folder
	// before opening (spec.ResolveState); the store only makes a path it is
	// handed absolute, against the working directory, and never joins a
	// second folder onto it.
	tests := []struct {
		url, legacy, want, err string
	}{
		{url: "file://.hoist", want: filepath.Join(cwd, ".hoist")},
		{url: "file://state/x", legacy: abs, want: filepath.Join(cwd, "state", "x")},
		{url: "file://" + abs + "/s", legacy: "/elsewhere", want: filepath.Join(abs, "s")},
		{url: "file://", err: "want file://DIR"},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			s, err := Open(context.Background(), tc.url, tc.legacy)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := s.(*fileStore).Root(); got != tc.want {
				t.Fatalf("root = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestFileGetNeverRunCreatesNothing(t *testing.T) {
	t.Parallel()
	root := filepath.Join(t.TempDir(), ".hoist")
	s := openTestStore(t, root)
	ctx := context.Background()
	st, err := s.Get(ctx, "customers")
	if err != nil {
		t.Fatal(err)
	}
	if want := (SyncState{Sync: "customers"}); *st != want {
		t.Fatalf("Get = %+v, want %+v", *st, want)
	}
	if got := snapshotOf(t, s, "customers"); len(got) != 0 {
		t.Fatalf("snapshot of a sync never run = %s", entriesString(got))
	}
	if h, err := s.History(ctx, "customers", 10); err != nil || len(h) != 0 {
		t.Fatalf("History = %v, %v", h, err)
	}
	if err := s.Reset(ctx, "customers"); err != nil {
		t.Fatal(err)
	}
	// plan and state show read through these calls and must leave no trace.
	if _, err := os.Stat(root); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("state folder exists after read-only calls (stat err %v)", err)
	}
}

func TestFileCommitSnapshotRoundTrip(t *testing.T) {
	t.Parallel()
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB row
	tests := []struct {
		name  string
		delta []Entry
	}{
		{"one", kvEntries("a=1")},
		{"ordered by bytes not length", kvEntries("a=1", "aa=2", "ab=3", "b=4", "ba=5")},
		{"empty row kept distinct from removal", kvEntries("k=", "l=x")},
		{"binary keys", []Entry{{Key: []byte{0}, Row: []byte{1}}, {Key: []byte{0, 0}, Row: []byte{2}}, {Key: []byte{0xff, 0xfe}, Row: []byte{3}}}},
		{"empty key", []Entry{{Key: []byte{}, Row: []byte("e")}, {Key: []byte("z"), Row: []byte("z")}}},
		{"large row", []Entry{{Key: []byte("big"), Row: big}}},
		{"only removals", kvEntries("a", "b")},
	}
	for _, codec := range []byte{codecNone, codecZstd, codecS2} {
		for _, tc := range tests {
			t.Run(fmt.Sprintf("codec%d/%s", codec, tc.name), func(t *testing.T) {
				t.Parallel()
				s := openTestStore(t, t.TempDir())
				s.codec = codec
				ctx := context.Background()
				cur := &cursor.Cursor{Kind: cursor.Int, Value: "42"}
				run := Run{Status: "ok", Mode: "upsert", Delivered: int64(len(tc.delta))}
				err := s.Commit(ctx, "s", &Commit{Cursor: cur, Delta: &SliceIterator{Entries: tc.delta}, Run: run})
				if err != nil {
					t.Fatal(err)
				}
				var want []Entry
				for _, e := range tc.delta {
					if e.Row != nil {
						want = append(want, e)
					}
				}
				got := snapshotOf(t, s, "s")
				if !equalEntries(got, want) {
					t.Fatalf("snapshot = %.200s\nwant %.200s", entriesString(got), entriesString(want))
				}
				st, err := s.Get(ctx, "s")
				if err != nil {
					t.Fatal(err)
				}
				if st.SnapshotRows != int64(len(want)) || *st.Cursor != *cur || st.LastRun == nil || st.LastRun.Delivered != run.Delivered {
					t.Fatalf("Get = %+v (cursor %v, last run %+v)", st, st.Cursor, st.LastRun)
				}
			})
		}
	}
}

func equalEntries(a, b []Entry) bool {
	return slices.EqualFunc(a, b, func(x, y Entry) bool {
		return bytes.Equal(x.Key, y.Key) && bytes.Equal(x.Row, y.Row) && (x.Row == nil) == (y.Row == nil)
	})
}

func TestFileDeltaMerge(t *testing.T) {
	t.Parallel()
	base := kvEntries("b=1", "d=2", "f=3")
	tests := []struct {
		name  string
		delta []Entry
		want  []Entry
	}{
		{"empty delta keeps all", nil, base},
		{"adds interleaved", kvEntries("a=0", "c=x", "e=y", "g=z"), kvEntries("a=0", "b=1", "c=x", "d=2", "e=y", "f=3", "g=z")},
		{"overwrites", kvEntries("b=9", "f=8"), kvEntries("b=9", "d=2", "f=8")},
		{"removes", kvEntries("b", "f"), kvEntries("d=2")},
		{"removing absent keys is a no-op", kvEntries("a", "c", "z"), base},
		{"remove all", kvEntries("b", "d", "f"), nil},
		{"mixed", kvEntries("a", "b", "c=new", "d=22", "e", "f", "g=7"), kvEntries("c=new", "d=22", "g=7")},
		{"prefix keys", kvEntries("bb=p", "d", "dd=q"), kvEntries("b=1", "bb=p", "dd=q", "f=3")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := openTestStore(t, t.TempDir())
			commitDelta(t, s, "s", base...)
			commitDelta(t, s, "s", tc.delta...)
			if got := snapshotOf(t, s, "s"); !equalEntries(got, tc.want) {
				t.Fatalf("snapshot = %s, want %s", entriesString(got), entriesString(tc.want))
			}
			st, err := s.Get(context.Background(), "s")
			if err != nil || st.SnapshotRows != int64(len(tc.want)) {
				t.Fatalf("SnapshotRows = %d (err %v), want %d", st.SnapshotRows, err, len(tc.want))
			}
		})
	}
}

func TestFileNilDeltaKeepsSnapshot(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	s := openTestStore(t, root)
	ctx := context.Background()
	commitDelta(t, s, "s", kvEntries("a=1", "b=2")...)
	dir, _ := s.syncDir("s")
	before, err := readState(dir, "s")
	if err != nil {
		t.Fatal(err)
	}
	cur := &cursor.Cursor{Kind: cursor.String, Value: "z"}
	if err := s.Commit(ctx, "s", &Commit{Cursor: cur, Run: Run{Status: "ok"}}); err != nil {
		t.Fatal(err)
	}
	after, err := readState(dir, "s")
	if err != nil {
		t.Fatal(err)
	}
	if after.Snapshot != before.Snapshot || after.Generation != before.Generation || after.SnapshotRows != 2 {
		t.Fatalf("nil delta moved the snapshot: %+v -> %+v", before, after)
	}
	if *after.Cursor != *cur {
		t.Fatalf("cursor = %v, want %v", after.Cursor, cur)
	}
	// and a nil cursor keeps the cursor
	if err := s.Commit(ctx, "s", &Commit{Run: Run{Status: "ok"}}); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Get(ctx, "s"); st.Cursor == nil || *st.Cursor != *cur {
		t.Fatalf("cursor after nil-cursor commit = %v, want %v", st.Cursor, cur)
	}
	if got := snapshotOf(t, s, "s"); !equalEntries(got, kvEntries("a=1", "b=2")) {
		t.Fatalf("snapshot = %s", entriesString(got))
	}
}

func TestFileBadCommitLeavesStateUntouched(t *testing.T) {
	t.Parallel()
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name  string
		ctx   context.Context
		delta []Entry
		err   string
	}{
		{"keys out of order", context.Background(), kvEntries("b=1", "a=2"), `delta keys out of order: "a" after "b"`},
		{"repeated key", context.Background(), kvEntries("a=1", "a=2"), `delta keys out of order: "a" after "a"`},
		{"canceled", canceled, kvEntries("x=1"), "context canceled"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := openTestStore(t, t.TempDir())
			commitDelta(t, s, "s", kvEntries("m=1")...)
			err := s.Commit(tc.ctx, "s", &Commit{
				Cursor: &cursor.Cursor{Kind: "int", Value: "9"},
				Delta:  &SliceIterator{Entries: tc.delta},
				Run:    Run{Status: "ok"},
			})
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.HasPrefix(err.Error(), "commit sync s: ") {
				t.Fatalf("err = %v, want it to contain %q", err, tc.err)
			}
			st, _ := s.Get(context.Background(), "s")
			if st.Cursor != nil || st.SnapshotRows != 1 {
				t.Fatalf("failed commit moved state: %+v", st)
			}
			if h, _ := s.History(context.Background(), "s", 0); len(h) != 1 {
				t.Fatalf("failed commit added history: %d runs", len(h))
			}
			dir, _ := s.syncDir("s")
			if files := snapshotFiles(t, dir); slices.ContainsFunc(files, func(f string) bool { return strings.HasPrefix(f, tempPrefix) }) {
				t.Fatalf("temp files left behind: %v", files)
			}
			if got := snapshotOf(t, s, "s"); !equalEntries(got, kvEntries("m=1")) {
				t.Fatalf("snapshot = %s", entriesString(got))
			}
		})
	}
}

// TestFileMergeMatchesModel applies random deltas and compares every
// snapshot with a map kept alongside.
func TestFileMergeMatchesModel(t *testing.T) {
	t.Parallel()
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(seed, 99))
			s := openTestStore(t, t.TempDir())
			model := map[string]string{}
			for round := range 15 {
				keys := map[string]bool{}
				for range rng.IntN(300) {
					keys[fmt.Sprintf("k%03d", rng.IntN(400))] = true
				}
				sorted := slices.Sorted(func(yield func(string) bool) {
					for k := range keys {
						if !yield(k) {
							return
						}
					}
				})
				var delta []Entry
				for _, k := range sorted {
					if rng.IntN(3) == 0 {
						delta = append(delta, Entry{Key: []byte(k)})
						delete(model, k)
					} else {
						v := fmt.Sprintf("r%d-%d", round, rng.IntN(1000))
						delta = append(delta, Entry{Key: []byte(k), Row: []byte(v)})
						model[k] = v
					}
				}
				commitDelta(t, s, "s", delta...)
				got := snapshotOf(t, s, "s")
				var want []Entry
				for _, k := range slices.Sorted(keysOf(model)) {
					want = append(want, Entry{Key: []byte(k), Row: []byte(model[k])})
				}
				if !equalEntries(got, want) {
					t.Fatalf("round %d: snapshot has %d entries, model %d", round, len(got), len(want))
				}
			}
		})
	}
}

func keysOf(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func TestFileOrphanGenerationIgnoredAndCleaned(t *testing.T) {
	t.Parallel()
	s := openTestStore(t, t.TempDir())
	commitDelta(t, s, "s", kvEntries("a=1")...)
	dir, _ := s.syncDir("s")
	// What a crash leaves: a newer generation nothing points to, and temp files.
	for _, name := range []string{"snapshot-7.bin", tempPrefix + "snapshot-123", tempPrefix + "state-9"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("garbage"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got := snapshotOf(t, s, "s"); !equalEntries(got, kvEntries("a=1")) {
		t.Fatalf("snapshot with orphans = %s", entriesString(got))
	}
	commitDelta(t, s, "s", kvEntries("b=2")...)
	if got := snapshotOf(t, s, "s"); !equalEntries(got, kvEntries("a=1", "b=2")) {
		t.Fatalf("snapshot = %s", entriesString(got))
	}
	files := snapshotFiles(t, dir)
	slices.Sort(files)
	want := []string{"commit.lock", "snapshot-2.bin", "state.json"}
	if !slices.Equal(files, want) {
		t.Fatalf("files after commit = %v, want %v", files, want)
	}
}

func TestFileReset(t *testing.T) {
	t.Parallel()
	s := openTestStore(t, t.TempDir())
	ctx := context.Background()
	cur := &cursor.Cursor{Kind: "int", Value: "5"}
	for i := range 3 {
		err := s.Commit(ctx, "s", &Commit{Cursor: cur, Delta: &SliceIterator{Entries: kvEntries(fmt.Sprintf("k%d=v", i))}, Run: Run{Status: "ok", RowsRead: int64(i)}})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Reset(ctx, "s"); err != nil {
		t.Fatal(err)
	}
	st, err := s.Get(ctx, "s")
	if err != nil {
		t.Fatal(err)
	}
	if st.Cursor != nil || st.SnapshotRows != 0 || st.LastRun == nil || st.LastRun.RowsRead != 2 {
		t.Fatalf("after reset: %+v", st)
	}
	if got := snapshotOf(t, s, "s"); len(got) != 0 {
		t.Fatalf("snapshot after reset = %s", entriesString(got))
	}
	if h, _ := s.History(ctx, "s", 0); len(h) != 3 {
		t.Fatalf("history after reset has %d runs, want 3", len(h))
	}
	dir, _ := s.syncDir("s")
	if m, _ := filepath.Glob(filepath.Join(dir, "snapshot-*")); len(m) != 0 {
		t.Fatalf("snapshot files left after reset: %v", m)
	}
	// the next commit starts from an empty snapshot, not the old one
	commitDelta(t, s, "s", kvEntries("z=1")...)
	if got := snapshotOf(t, s, "s"); !equalEntries(got, kvEntries("z=1")) {
		t.Fatalf("snapshot = %s", entriesString(got))
	}
}

func TestFileHistoryNewestFirstAndCapped(t *testing.T) {
	t.Parallel()
	s := openTestStore(t, t.TempDir())
	ctx := context.Background()
	start := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	for i := range maxHistory + 10 {
		if err := s.Commit(ctx, "s", &Commit{Run: Run{Status: "ok", RowsRead: int64(i), StartedAt: start.Add(time.Duration(i) * time.Minute)}}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct{ n, want int }{{0, maxHistory}, {-1, maxHistory}, {3, 3}, {1000, maxHistory}}
	for _, tc := range tests {
		h, err := s.History(ctx, "s", tc.n)
		if err != nil {
			t.Fatal(err)
		}
		if len(h) != tc.want {
			t.Fatalf("History(%d) has %d runs, want %d", tc.n, len(h), tc.want)
		}
		for i, r := range h {
			if want := int64(maxHistory + 10 - 1 - i); r.RowsRead != want {
				t.Fatalf("History(%d)[%d].RowsRead = %d, want %d (newest first)", tc.n, i, r.RowsRead, want)
			}
		}
	}
	st, _ := s.Get(ctx, "s")
	if st.LastRun == nil || st.LastRun.RowsRead != maxHistory+9 || !st.LastRun.StartedAt.Equal(start.Add((maxHistory+9)*time.Minute)) {
		t.Fatalf("LastRun = %+v", st.LastRun)
	}
}

func TestFileUnwritableFolder(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "regular-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(file, "x") // a folder under a regular file can never be created, even by root
	s := openTestStore(t, root)
	ctx := context.Background()
	want := "state folder " + root + " is not writable: not a directory"
	_, lockErr := s.Lock(ctx, "s", 0)
	commitErr := s.Commit(ctx, "s", &Commit{Delta: &SliceIterator{Entries: kvEntries("a=1")}})
	for name, err := range map[string]error{"Lock": lockErr, "Commit": commitErr} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s err = %v, want it to contain %q", name, err, want)
		}
	}
}

func TestFileReadOnlyFolder(t *testing.T) {
	t.Parallel()
	if os.Geteuid() == 0 {
		t.Skip("root ignores folder permissions; TestFileUnwritableFolder covers the error path")
	}
	root := t.TempDir()
	s := openTestStore(t, root)
	if err := os.Chmod(root, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(root, 0o755) })
	err := s.Commit(context.Background(), "s", &Commit{})
	if want := "state folder " + root + " is not writable: permission denied"; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want %q", err, want)
	}
	if !errors.Is(err, os.ErrPermission) {
		t.Fatalf("err does not wrap ErrPermission: %v", err)
	}
}

// A reader keeps its generation even when a commit deletes that file.
func TestFileSnapshotSurvivesConcurrentCommit(t *testing.T) {
	t.Parallel()
	s := openTestStore(t, t.TempDir())
	ctx := context.Background()
	if err := s.Commit(ctx, "s", &Commit{Delta: custIter(10000, 1)}); err != nil {
		t.Fatal(err)
	}
	it, err := s.Snapshot(ctx, "s")
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	for range 5000 {
		it.Next()
	}
	if err := s.Commit(ctx, "s", &Commit{Delta: custIter(10000, 2)}); err != nil {
		t.Fatal(err)
	}
	n := 5000
	for it.Next() {
		if want := custRow(nil, n, 1); !bytes.Equal(it.Entry().Row, want) {
			t.Fatalf("entry %d = %s, want %s", n, it.Entry().Row, want)
		}
		n++
	}
	if it.Err() != nil || n != 10000 {
		t.Fatalf("old reader read %d entries, err %v", n, it.Err())
	}
}

// Readers racing a stream of commits always see one whole generation.
func TestFileSnapshotConsistentUnderCommits(t *testing.T) {
	t.Parallel()
	s := openTestStore(t, t.TempDir())
	ctx := context.Background()
	const rows = 2000
	if err := s.Commit(ctx, "s", &Commit{Delta: custIter(rows, 0)}); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg stdsync.WaitGroup
	errs := make(chan error, 4)
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				it, err := s.Snapshot(ctx, "s")
				if err != nil {
					errs <- err
					return
				}
				n, version := 0, ""
				for it.Next() {
					row := string(it.Entry().Row)
					v := row[strings.LastIndex(row, ":"):]
					if n == 0 {
						version = v
					} else if v != version {
						errs <- fmt.Errorf("entry %d is from version %s, entry 0 from %s", n, v, version)
					}
					n++
				}
				it.Close()
				if it.Err() != nil || n != rows {
					errs <- fmt.Errorf("read %d rows, err %v", n, it.Err())
					return
				}
			}
		}()
	}
	for v := 1; v <= 30; v++ {
		if err := s.Commit(ctx, "s", &Commit{Delta: custIter(rows, v)}); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestEscapeSyncName(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"customers_to_crm", "customers_to_crm"},
		{"a.b-c", "a.b-c"},
		{".", "%2E"},
		{"..", "%2E."},
		{"../../etc", "%2E.%2F..%2Fetc"}, // no slash survives, so no traversal
		{"a/b", "a%2Fb"},
		{"a%2Fb", "a%252Fb"},
		{"sp ace", "sp%20ace"},
		{"café", "caf%C3%A9"},
	}
	seen := map[string]string{}
	for _, tc := range tests {
		got := escapeSyncName(tc.in)
		if got != tc.want {
			t.Errorf("escapeSyncName(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if prev, dup := seen[got]; dup {
			t.Errorf("%q and %q both escape to %q", prev, tc.in, got)
		}
		seen[got] = tc.in
	}
}

func TestFileSyncsAreIsolated(t *testing.T) {
	t.Parallel()
	s := openTestStore(t, t.TempDir())
	commitDelta(t, s, "a/b", kvEntries("x=1")...)
	commitDelta(t, s, "a%2Fb", kvEntries("y=2")...)
	if got := snapshotOf(t, s, "a/b"); !equalEntries(got, kvEntries("x=1")) {
		t.Fatalf("a/b = %s", entriesString(got))
	}
	if got := snapshotOf(t, s, "a%2Fb"); !equalEntries(got, kvEntries("y=2")) {
		t.Fatalf("a%%2Fb = %s", entriesString(got))
	}
	if _, err := s.Get(context.Background(), ""); err == nil {
		t.Fatal("empty sync name accepted")
	}
}
