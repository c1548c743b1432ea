package spec

import (
	"strconv"
	"strings"
)

// skipped reports whether field is, or lies under, a path whose value Load
// could not read.
func (f *File) skipped(field string) bool {
	for p := field; ; {
		if f.skip[p] {
			return true
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			return false
		}
		p = p[:i]
	}
}

// envProblems keeps the environment problems that matter to a run of the
// named syncs (all of them when names is nil): one in a connection that no
// named sync uses, or in a sync not named, does not stop this run.
func (f *File) envProblems(probs []*Problem, names []string) []*Problem {
	for _, p := range probs {
		p.File = f.Path
	}
	if names == nil {
		return probs
	}
	syncs, conns := map[int]bool{}, map[string]bool{}
	for _, n := range names {
		if s := f.SyncByName(n); s != nil {
			syncs[s.Index] = true
			conns[s.Source.Connection] = true
			conns[s.Destination.Connection] = true
		}
	}
	var out []*Problem
	for _, p := range probs {
		if conn, ok := connectionOf(p.Field); ok && !conns[conn] {
			continue
		}
		if i, ok := syncOf(p.Field); ok && !syncs[i] {
			continue
		}
		out = append(out, p)
	}
	return out
}

// connectionOf returns NAME from a path "connections.NAME…".
func connectionOf(field string) (string, bool) {
	rest, ok := strings.CutPrefix(field, "connections.")
	if !ok {
		return "", false
	}
	name, _, _ := strings.Cut(rest, ".")
	return name, true
}

// syncOf returns I from a path "syncs[I]…".
func syncOf(field string) (int, bool) {
	rest, ok := strings.CutPrefix(field, "syncs[")
	if !ok {
		return 0, false
	}
	num, _, ok := strings.Cut(rest, "]")
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(num)
	return i, err == nil
}
