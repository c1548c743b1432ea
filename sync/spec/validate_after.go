package spec

import (
	"fmt"
	"slices"
	"strings"
)

// validateAfter checks every sync's after list: each entry names another
// sync of the spec, once, and following after from any sync never comes
// back to it (a cycle would leave its syncs waiting for each other forever).
func (f *File) validateAfter(bad func(string, string, ...any)) {
	byName := map[string]*Sync{}
	for _, s := range f.Syncs {
		if s != nil && s.Name != "" && byName[s.Name] == nil {
			byName[s.Name] = s
		}
	}
	for _, s := range f.Syncs {
		if s == nil {
			continue
		}
		seen := map[string]bool{}
		for j, dep := range s.After {
			field := fmt.Sprintf("%s.after[%d]", s.Field(), j)
			switch {
			case dep == "":
				bad(field, "sync name is empty")
			case dep == s.Name:
				bad(field, "sync %q cannot run after itself", dep)
			case byName[dep] == nil:
				bad(field, "no sync named %q%s", dep, f.syncNames())
			case seen[dep]:
				bad(field, "sync %q is listed twice", dep)
			}
			seen[dep] = true
		}
	}
	for _, cyc := range afterCycles(f.Syncs, byName) {
		first := cyc[0]
		// the entry of the first sync that leads into the cycle
		j := slices.Index(first.After, cyc[1].Name)
		names := make([]string, 0, len(cyc)+1)
		for _, s := range cyc {
			names = append(names, s.Name)
		}
		names = append(names, first.Name)
		bad(fmt.Sprintf("%s.after[%d]", first.Field(), j),
			"these syncs wait for each other in a cycle (%s, each after the next): none of them could start; remove one of these after entries",
			strings.Join(names, " → "))
	}
}

// afterCycles finds every cycle of after entries: one per group of syncs
// that wait on each other (a strongly connected component of two or more),
// each as a path starting from the group's first sync in the spec. Unknown
// names and a sync listing itself are left to validateAfter's own messages.
func afterCycles(syncs []*Sync, byName map[string]*Sync) [][]*Sync {
	deps := func(s *Sync) []*Sync {
		var out []*Sync
		for _, d := range s.After {
			if t := byName[d]; t != nil && t != s {
				out = append(out, t)
			}
		}
		return out
	}
	// Tarjan's algorithm, iterating the syncs in spec order so that the
	// report does not depend on map order.
	index := map[*Sync]int{}
	low := map[*Sync]int{}
	onStack := map[*Sync]bool{}
	var stack []*Sync
	var groups [][]*Sync
	var visit func(s *Sync)
	visit = func(s *Sync) {
		index[s], low[s] = len(index), len(index)
		stack = append(stack, s)
		onStack[s] = true
		for _, t := range deps(s) {
			if _, ok := index[t]; !ok {
				visit(t)
				low[s] = min(low[s], low[t])
			} else if onStack[t] {
				low[s] = min(low[s], index[t])
			}
		}
		if low[s] != index[s] {
			return
		}
		var g []*Sync
		for {
			t := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			onStack[t] = false
			g = append(g, t)
			if t == s {
				break
			}
		}
		if len(g) > 1 {
			groups = append(groups, g)
		}
	}
	for _, s := range syncs {
		if s == nil || byName[s.Name] != s {
			continue
		}
		if _, ok := index[s]; !ok {
			visit(s)
		}
	}
	var out [][]*Sync
	for _, g := range groups {
		out = append(out, cyclePath(g, deps))
	}
	slices.SortFunc(out, func(a, b []*Sync) int { return a[0].Index - b[0].Index })
	return out
}

// cyclePath walks from the group's first sync in the spec back to it along
// after entries that stay inside the group (a breadth-first search, so the
// shortest such cycle is shown).
func cyclePath(group []*Sync, deps func(*Sync) []*Sync) []*Sync {
	in := map[*Sync]bool{}
	start := group[0]
	for _, s := range group {
		in[s] = true
		if s.Index < start.Index {
			start = s
		}
	}
	prev := map[*Sync]*Sync{}
	queue := []*Sync{start}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for _, t := range deps(s) {
			if !in[t] {
				continue
			}
			if t == start {
				path := []*Sync{s}
				for p := prev[s]; p != nil; p = prev[p] {
					path = append(path, p)
				}
				slices.Reverse(path)
				return path
			}
			if _, seen := prev[t]; !seen {
				prev[t] = s
				queue = append(queue, t)
			}
		}
	}
	return group // unreachable for a strongly connected group
}

// syncNames lists the spec's sync names for a message.
func (f *File) syncNames() string {
	var names []string
	for _, s := range f.Syncs {
		if s != nil && s.Name != "" {
			names = append(names, s.Name)
		}
	}
	if len(names) == 0 {
		return ""
	}
	return " (syncs: " + strings.Join(names, ", ") + ")"
}
