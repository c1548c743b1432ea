package state

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func pgLookupStore(t *testing.T) *pgStore {
	t.Helper()
	s, _ := openPGStore(t)
	ps, ok := s.(*pgStore)
	if !ok {
		t.Fatalf("postgres store is %T", s)
	}
	return ps
}

// pgCommitEntries commits entries (in any order) as the delta of one run.
func pgCommitEntries(t *testing.T, s Store, sync string, entries ...Entry) {
	t.Helper()
	delta := slices.Clone(entries)
	slices.SortStableFunc(delta, func(a, b Entry) int { return bytes.Compare(a.Key, b.Key) })
	if err := s.Commit(context.Background(), sync, &Commit{Delta: &SliceIterator{Entries: delta}, Run: Run{Status: "ok"}}); err != nil {
		t.Fatal(err)
	}
}

// pgLookupGet runs one Get and renders what fn saw as "key=row ..." (keys in
// hex), copying out of the driver's buffers as a caller must.
func pgLookupGet(t *testing.T, l Lookup, keys ...[]byte) string {
	t.Helper()
	var got []string
	err := l.Get(context.Background(), keys, func(e Entry) error {
		got = append(got, fmt.Sprintf("%x=%s", e.Key, e.Row))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(got, " ")
}

func openPGLookup(t *testing.T, s *pgStore, sync string) Lookup {
	t.Helper()
	l, err := s.Lookup(context.Background(), sync)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestIntegrationPostgresLookupGet(t *testing.T) {
	s := pgLookupStore(t)
	// Keys whose bytes.Compare order differs from text collation and from
	// length order: an empty key, NUL bytes, prefixes, high bytes.
	keys := [][]byte{{0xff}, {0x00}, {}, {0x00, 0x00}, []byte("a"), []byte("B"), []byte("ab"), {0x7f, 0xff}, {0x80}}
	var snap []Entry
	for i, k := range keys {
		snap = append(snap, Entry{Key: k, Row: []byte(fmt.Sprintf("row%d", i))})
	}
	pgCommitEntries(t, s, "a", snap...)
	// Another sync with overlapping keys must not leak in.
	pgCommitEntries(t, s, "b", Entry{Key: []byte("a"), Row: []byte("other")}, Entry{Key: []byte("zz"), Row: []byte("other")})

	// One Lookup, successive calls, each above every key of the ones before.
	l := openPGLookup(t, s, "a")
	for _, c := range []struct {
		name string
		keys [][]byte
		want string
	}{
		{"empty key and NUL", [][]byte{{}, {0x00}}, "=row2 00=row1"},
		{"prefixes and misses", [][]byte{{0x00, 0x00}, {0x00, 0x00, 0x00}, {0x01}, []byte("B")}, "0000=row3 42=row5"},
		{"empty slice", nil, ""},
		{"empty non-nil slice", [][]byte{}, ""},
		{"hits among misses", [][]byte{[]byte("Z"), []byte("a"), []byte("aa"), []byte("ab"), []byte("abc")}, "61=row4 6162=row6"},
		{"all miss", [][]byte{{0x7f}, {0x7f, 0xfe}}, ""},
		{"high bytes", [][]byte{{0x7f, 0xff}, {0x80}, {0x80, 0x00}, {0xff}, {0xff, 0xff}}, "7fff=row7 80=row8 ff=row0"},
		{"past the end", [][]byte{{0xff, 0xff, 0xff}}, ""},
	} {
		if got := pgLookupGet(t, l, c.keys...); got != c.want {
			t.Errorf("%s: Get(%x)\n got %q\nwant %q", c.name, c.keys, got, c.want)
		}
	}

	// A nil key is the empty key, not NULL.
	if got := pgLookupGet(t, openPGLookup(t, s, "a"), nil, []byte("a")); got != "=row2 61=row4" {
		t.Errorf("Get(nil, a) = %q", got)
	}

	// fn's error stops Get and comes back as is; the view stays usable.
	l = openPGLookup(t, s, "a")
	stop := errors.New("stop")
	n := 0
	err := l.Get(context.Background(), [][]byte{{}, {0x00}, {0x00, 0x00}}, func(Entry) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("Get with failing fn: %v after %d calls", err, n)
	}
	if got := pgLookupGet(t, l, []byte("B"), []byte("a")); got != "42=row5 61=row4" {
		t.Errorf("Get after fn error = %q", got)
	}
}

// TestIntegrationPostgresLookupMany: callers pass thousands of keys at once.
func TestIntegrationPostgresLookupMany(t *testing.T) {
	s := pgLookupStore(t)
	var snap []Entry
	for i := 0; i < 6000; i += 2 {
		snap = append(snap, Entry{Key: fmt.Appendf(nil, "k%05d", i), Row: fmt.Appendf(nil, "r%d", i)})
	}
	pgCommitEntries(t, s, "m", snap...)
	l := openPGLookup(t, s, "m")
	for lo := 0; lo < 6000; lo += 3000 {
		var keys [][]byte
		var want []string
		for i := lo; i < lo+3000; i++ {
			keys = append(keys, fmt.Appendf(nil, "k%05d", i))
			if i%2 == 0 {
				want = append(want, fmt.Sprintf("%x=r%d", fmt.Sprintf("k%05d", i), i))
			}
		}
		if got := pgLookupGet(t, l, keys...); got != strings.Join(want, " ") {
			t.Fatalf("Get of keys %d..%d: %d entries, want %d", lo, lo+3000, len(strings.Fields(got)), len(want))
		}
	}
}

// TestIntegrationPostgresLookupConsistent: a Lookup sees the snapshot as it
// was when it opened, through commits made while it is open (and does not
// hold them up).
func TestIntegrationPostgresLookupConsistent(t *testing.T) {
	s := pgLookupStore(t)
	pgCommitEntries(t, s, "c", Entry{Key: []byte("a"), Row: []byte("1")}, Entry{Key: []byte("b"), Row: []byte("2")})
	old := openPGLookup(t, s, "c")
	// Before any Get: the view is pinned at Lookup, not at the first query.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := s.Commit(ctx, "c", &Commit{Delta: &SliceIterator{Entries: []Entry{
		{Key: []byte("a"), Row: []byte("changed")}, {Key: []byte("b")}, {Key: []byte("c"), Row: []byte("3")},
	}}, Run: Run{Status: "ok"}})
	if err != nil {
		t.Fatalf("commit during a lookup: %v", err)
	}
	if got := pgLookupGet(t, old, []byte("a")); got != "61=1" {
		t.Errorf("old view, first Get = %q, want the row from before the commit", got)
	}
	if got := pgLookupGet(t, old, []byte("b"), []byte("c")); got != "62=2" {
		t.Errorf("old view, second Get = %q, want b kept and c unseen", got)
	}
	if got := pgLookupGet(t, openPGLookup(t, s, "c"), []byte("a"), []byte("b"), []byte("c")); got != "61=changed 63=3" {
		t.Errorf("new view = %q", got)
	}
}

func TestIntegrationPostgresLookupNeverCommitted(t *testing.T) {
	s := pgLookupStore(t)
	pgCommitEntries(t, s, "other", Entry{Key: []byte("a"), Row: []byte("1")})
	l := openPGLookup(t, s, "ghost")
	if got := pgLookupGet(t, l, []byte{}, []byte("a"), []byte("b")); got != "" {
		t.Errorf("never-committed sync: Get = %q, want nothing", got)
	}
}

func TestIntegrationPostgresLookupCloseAndCancel(t *testing.T) {
	s := pgLookupStore(t)
	pgCommitEntries(t, s, "x", Entry{Key: []byte("a"), Row: []byte("1")})

	l, err := s.Lookup(context.Background(), "x")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = l.Get(ctx, [][]byte{[]byte("a")}, func(Entry) error { t.Error("fn called on a cancelled ctx"); return nil })
	if err == nil || !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "sync x") {
		t.Errorf("Get on a cancelled ctx: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := l.Get(context.Background(), [][]byte{[]byte("a")}, func(Entry) error { return nil }); err == nil {
		t.Error("Get after Close succeeded")
	}
	if n := s.pool.Stat().AcquiredConns(); n != 0 {
		t.Errorf("%d connections still acquired after Close", n)
	}

	if _, err := s.Lookup(ctx, "x"); err == nil || !strings.Contains(err.Error(), "look up snapshot of sync x") {
		t.Errorf("Lookup on a cancelled ctx: %v", err)
	}
	if n := s.pool.Stat().AcquiredConns(); n != 0 {
		t.Errorf("%d connections still acquired after a failed Lookup", n)
	}
}
