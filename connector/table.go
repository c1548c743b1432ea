package connector

import (
	"sort"
	stdsync "sync"
)

// Table maps a type name to what one role registers for it (a source's
// opener, a destination's, a state store's). extract, load and state each
// keep one, so the three registries are one implementation.
type Table[T any] struct {
	mu stdsync.RWMutex
	m  map[string]T
}

// Set registers v for typ, replacing what was there.
func (t *Table[T]) Set(typ string, v T) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[string]T{}
	}
	t.m[typ] = v
}

// Get returns what typ registered.
func (t *Table[T]) Get(typ string) (T, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	v, ok := t.m[typ]
	return v, ok
}

// Types lists the registered names, sorted.
func (t *Table[T]) Types() []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]string, 0, len(t.m))
	for k := range t.m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
