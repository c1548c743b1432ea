package state

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// openTestStore opens a file store through the registry, as the CLI does.
func openTestStore(t testing.TB, root string) *fileStore {
	t.Helper()
	s, err := Open(context.Background(), "file://"+root, "")
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s.(*fileStore)
}

// collect drains it, copying every entry.
func drainIter(t testing.TB, it Iterator) []Entry {
	t.Helper()
	defer it.Close()
	var out []Entry
	for it.Next() {
		e := it.Entry()
		out = append(out, Entry{Key: append([]byte(nil), e.Key...), Row: append([]byte{}, e.Row...)})
	}
	if err := it.Err(); err != nil {
		t.Fatalf("iterate: %v", err)
	}
	return out
}

func snapshotOf(t testing.TB, s Store, sync string) []Entry {
	t.Helper()
	it, err := s.Snapshot(context.Background(), sync)
	if err != nil {
		t.Fatalf("snapshot %s: %v", sync, err)
	}
	return drainIter(t, it)
}

// ents builds entries from "key=row" strings; "key" alone (no '=') is a removal.
func kvEntries(kv ...string) []Entry {
	out := make([]Entry, 0, len(kv))
	for _, s := range kv {
		k, r, set := strings.Cut(s, "=")
		e := Entry{Key: []byte(k)}
		if set {
			e.Row = append([]byte{}, r...)
		}
		out = append(out, e)
	}
	return out
}

func entriesString(es []Entry) string {
	s := ""
	for i, e := range es {
		if i > 0 {
			s += " "
		}
		if e.Row == nil {
			s += fmt.Sprintf("%q(rm)", e.Key)
		} else {
			s += fmt.Sprintf("%q=%q", e.Key, e.Row)
		}
	}
	return "[" + s + "]"
}

func commitDelta(t testing.TB, s Store, sync string, delta ...Entry) {
	t.Helper()
	if err := s.Commit(context.Background(), sync, &Commit{Delta: &SliceIterator{Entries: delta}}); err != nil {
		t.Fatalf("commit: %v", err)
	}
}

func snapshotFiles(t testing.TB, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range m {
		out = append(out, filepath.Base(p))
	}
	hidden, _ := filepath.Glob(filepath.Join(dir, ".*"))
	for _, p := range hidden {
		out = append(out, filepath.Base(p))
	}
	return out
}

// genIter yields n generated entries lazily, so huge deltas cost no memory.
type genIter struct {
	n, i     int
	key, row []byte
	fill     func(i int, key, row []byte) ([]byte, []byte)
}

func (g *genIter) Next() bool {
	if g.i >= g.n {
		return false
	}
	g.key, g.row = g.fill(g.i, g.key[:0], g.row[:0])
	g.i++
	return true
}
func (g *genIter) Entry() Entry { return Entry{Key: g.key, Row: g.row} }
func (g *genIter) Err() error   { return nil }
func (g *genIter) Close() error { return nil }

// custKey is a fixed-width key, so numeric order is byte order.
func custKey(dst []byte, i int) []byte {
	dst = append(dst, "cust-"...)
	var num [10]byte
	v := strconv.AppendInt(num[:0], int64(i), 10)
	for range 10 - len(v) {
		dst = append(dst, '0')
	}
	return append(dst, v...)
}

// custRow is a ~100-byte row resembling an encoded mapped record.
func custRow(dst []byte, i, version int) []byte {
	dst = append(dst, `{"id":`...)
	dst = strconv.AppendInt(dst, int64(i), 10)
	dst = append(dst, `,"email":"user`...)
	dst = strconv.AppendInt(dst, int64(i), 10)
	dst = append(dst, `@example.com","name":"Customer `...)
	dst = strconv.AppendInt(dst, int64(i*7919%100003), 10)
	dst = append(dst, `","plan":"pro","v":`...)
	dst = strconv.AppendInt(dst, int64(version), 10)
	return append(dst, '}')
}

func custIter(n, version int) *genIter {
	return &genIter{n: n, fill: func(i int, k, r []byte) ([]byte, []byte) {
		return custKey(k, i), custRow(r, i, version)
	}}
}
