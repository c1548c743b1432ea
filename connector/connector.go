// Package connector is the registry every connection type registers in: its
// type name, the config structs its YAML keys decode into (a connection's,
// and a sync's source and destination blocks), their validation, and what
// the type can do (be a source, a destination; which modes it writes).
//
// The spec package knows only the envelope (connections, syncs, source,
// destination, mappings); everything a type adds is declared here by the
// connector, beside its code, the way cloudquery's plugins validate their own
// spec and benthos declares a ConfigSpec beside each component. Adding a
// connector is its own files plus a registration: nothing in sync/spec or
// the engine changes.
package connector

import (
	"fmt"
	"reflect"
	"sort"
	stdsync "sync"
)

// Problems collects what is wrong with a block. field is relative to the
// block being validated ("url", "operations.upsert.path"; "" for the block
// itself); the spec prefixes it with the block's path and finds its line.
type Problems interface {
	Add(field, format string, args ...any)
}

// Warner is implemented by the Problems a spec hands to a validator: a
// doubt that does not make the spec invalid (an operation a mode never
// uses) is reported with Warn, at the field's line, and validate goes on.
type Warner interface {
	Warn(field, format string, args ...any)
}

// Warn reports a doubt through p when p takes warnings, and drops it
// otherwise (a caller that only wants errors).
func Warn(p Problems, field, format string, args ...any) {
	if w, ok := p.(Warner); ok {
		w.Warn(field, format, args...)
	}
}

// Config is a connection's own keys, decoded from its YAML mapping through
// the struct's yaml tags. Types come from the spec package where a value has
// a meaning there (spec.Secret masks a value everywhere it prints, and
// spec.Duration reads "30s").
type Config interface {
	// Validate reports every problem with the decoded keys.
	Validate(p Problems)
	// Address names what the connection reaches, without credentials: the
	// state identity records it, so it must stay stable across releases.
	Address() string
}

// SourceConfig is the part of a sync's source block that belongs to the
// source's connection type (query and table, a path, an endpoint).
type SourceConfig interface {
	// Validate reports every problem, knowing the connection's config.
	Validate(conn Config, p Problems)
	// Identity lists what the source reads, as (key, value) pairs in a
	// fixed order (empty values are left out); the state identity records
	// it, so it must stay stable across releases.
	Identity() [][2]string
}

// Dest is what a destination's validation knows of its sync besides its own keys.
type Dest struct {
	Conn       Config
	Object     string
	Mode       string
	PrimaryKey []string
}

// DestConfig is the part of a sync's destination block that belongs to the
// destination's connection type (create_table, a file format, operations).
type DestConfig interface {
	Validate(d Dest, p Problems)
}

// Spec declares a connection type. NewConfig returns a pointer to a new zero
// config struct.
type Spec struct {
	Type      string
	Summary   string
	NewConfig func() Config
}

// SourceRole declares that a type can be a source.
type SourceRole struct {
	NewConfig func() SourceConfig
}

// DestRole declares that a type can be a destination.
type DestRole struct {
	NewConfig func() DestConfig
	// Modes are the modes it writes; validate refuses the others with Why.
	Modes []string
	// Why, when set, explains a mode the type does not write (keyed by mode).
	Why map[string]string
	// ObjectOptional: destination.object may be left out (an API whose
	// operations name their own paths).
	ObjectOptional bool
	// ObjectKey spells an object the same way for two spellings of it (SQL
	// names are case-insensitive; a file's extension may be implied), for
	// the warning about two syncs writing one object. nil: as written.
	ObjectKey func(conn Config, dest DestConfig, object string) string
	// PlanCheck: a dry-run open reads the destination's catalog and changes
	// nothing, so plan opens it to say what run would fail on.
	PlanCheck bool
}

// Connector is everything registered for one type.
type Connector struct {
	Spec
	Source *SourceRole
	Dest   *DestRole
}

var (
	mu    stdsync.RWMutex
	types = map[string]*Connector{}
)

// Register declares a connection type. Call it from init; a second
// registration of one type is a programming error.
func Register(s Spec) {
	mu.Lock()
	defer mu.Unlock()
	c := entry(s.Type)
	if c.NewConfig != nil {
		panic(fmt.Sprintf("connector %q registered twice", s.Type))
	}
	c.Spec = s
}

// RegisterSource declares that typ can be a source.
func RegisterSource(typ string, r SourceRole) {
	mu.Lock()
	defer mu.Unlock()
	c := entry(typ)
	if c.Source != nil {
		panic(fmt.Sprintf("connector %q: source registered twice", typ))
	}
	c.Source = &r
}

// RegisterDest declares that typ can be a destination.
func RegisterDest(typ string, r DestRole) {
	mu.Lock()
	defer mu.Unlock()
	c := entry(typ)
	if c.Dest != nil {
		panic(fmt.Sprintf("connector %q: destination registered twice", typ))
	}
	c.Dest = &r
}

func entry(typ string) *Connector {
	c := types[typ]
	if c == nil {
		c = &Connector{Spec: Spec{Type: typ}}
		types[typ] = c
	}
	return c
}

// Lookup returns the connector registered for typ. A type with roles but no
// Spec (its connection config) is not complete and is not found.
func Lookup(typ string) (*Connector, bool) {
	mu.RLock()
	defer mu.RUnlock()
	c, ok := types[typ]
	if !ok || c.NewConfig == nil {
		return nil, false
	}
	return c, true
}

// Types lists the registered types, sorted.
func Types() []string {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]string, 0, len(types))
	for t, c := range types {
		if c.NewConfig != nil {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out
}

// All returns every complete connector, sorted by type.
func All() []*Connector {
	var out []*Connector
	for _, t := range Types() {
		c, _ := Lookup(t)
		out = append(out, c)
	}
	return out
}

// TypeOf returns the struct type a config factory makes (for the spec's
// decoder and the JSON Schema).
func TypeOf[T any](newConfig func() T) reflect.Type {
	t := reflect.TypeOf(newConfig())
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// List joins names for messages: "a, b or c".
func List(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	out := ""
	for i, n := range names[:len(names)-1] {
		if i > 0 {
			out += ", "
		}
		out += n
	}
	return out + " or " + names[len(names)-1]
}
