package spec

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/hoist-dev/hoist/connector"
)

// A connection, a source block and a destination block each hold the
// envelope's keys plus those their connection type's connector declares.
// The walker checks both against one merged set of fields, so a typo gets
// the same "unknown key (did you mean …)" whichever part it belongs to, and
// a key of another type says which type it belongs to.

// block kinds, as messages name them.
const (
	kindConnection = "connection"
	kindSource     = "source"
	kindDest       = "destination"
)

var (
	typeOfConnection = reflect.TypeOf(Connection{})
	typeOfSource     = reflect.TypeOf(Source{})
	typeOfDest       = reflect.TypeOf(Dest{})
)

// extension is the field set of one block of a known connector.
type extension struct {
	kind   string
	typ    string // the connection type, "" when unknown
	fields map[string]reflect.Type
}

// connectionTypes reads each connection's type before the walk.
func connectionTypes(doc *yaml.Node, env Env) map[string]string {
	out := map[string]string{}
	conns := mappingValue(doc, "connections")
	if conns == nil || conns.Kind != yaml.MappingNode {
		return out
	}
	for i := 0; i+1 < len(conns.Content); i += 2 {
		if t := mappingValue(conns.Content[i+1], "type"); t != nil && t.Kind == yaml.ScalarNode {
			if v, err := Expand(t.Value, env); err == nil {
				out[conns.Content[i].Value] = v
			}
		}
	}
	return out
}

func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// extension returns the merged fields of a connection, source or
// destination mapping at path, or nil for any other struct.
func (w *walker) extension(t reflect.Type, n *yaml.Node, path string) *extension {
	var kind, typ string
	switch t {
	case typeOfConnection:
		kind, typ = kindConnection, w.connTypes[strings.TrimPrefix(path, "connections.")]
	case typeOfSource, typeOfDest:
		kind = kindSource
		if t == typeOfDest {
			kind = kindDest
		}
		if c := mappingValue(n, "connection"); c != nil && c.Kind == yaml.ScalarNode {
			typ = w.connTypes[c.Value]
		}
	default:
		return nil
	}
	ext := &extension{kind: kind, fields: map[string]reflect.Type{}}
	for k, v := range yamlFields(t) {
		ext.fields[k] = v
	}
	if ct := configType(kind, typ); ct != nil {
		ext.typ = typ
		for k, v := range yamlFields(ct) {
			ext.fields[k] = v
		}
	}
	return ext
}

// configType is the struct a connector decodes a block of kind into, or nil.
func configType(kind, typ string) reflect.Type {
	c, ok := connector.Lookup(typ)
	if !ok {
		return nil
	}
	switch kind {
	case kindConnection:
		return connector.TypeOf(c.NewConfig)
	case kindSource:
		if c.Source != nil {
			return connector.TypeOf(c.Source.NewConfig)
		}
	case kindDest:
		if c.Dest != nil {
			return connector.TypeOf(c.Dest.NewConfig)
		}
	}
	return nil
}

// unknown says what is wrong with a key the block's fields lack, and how
// to report it: with the type unknown the block is reported elsewhere (an
// unknown type or connection), so its keys are not judged. A source or
// destination key of another type is a warning, not an error: hoist before
// the connector registry accepted and ignored it, and a spec that ran then
// must still run.
func (e *extension) unknown(key string) (msg string, report, warn bool) {
	if e.typ == "" {
		return "", false, false
	}
	var others []string
	for _, t := range connector.Types() {
		if ct := configType(e.kind, t); t != e.typ && ct != nil {
			if _, ok := yamlFields(ct)[key]; ok {
				others = append(others, t)
			}
		}
	}
	if len(others) > 0 {
		if e.kind != kindConnection {
			return fmt.Sprintf("key %q does not apply to a %s %s (it is ignored)", key, e.typ, e.kind), true, true
		}
		return fmt.Sprintf("key %q does not apply to a %s %s", key, e.typ, e.kind), true, false
	}
	return "unknown key" + suggest(key, e.fields), true, false
}

// decodeConfigs decodes each block's connector keys into its connector's
// config struct. The walker has already expanded ${VAR}s and nulled values
// of the wrong shape, so an error here is one it missed.
func (f *File) decodeConfigs(nodes map[string]*yaml.Node) []*Problem {
	var probs []*Problem
	decode := func(path string, v any) {
		n := nodes[path]
		if n == nil {
			return
		}
		if err := n.Decode(v); err != nil {
			var te *yaml.TypeError
			if errors.As(err, &te) {
				for _, m := range te.Errors {
					probs = append(probs, &Problem{File: f.Path, Line: yamlErrLine(errors.New(m)), Field: path, Msg: trimYAMLErr(errors.New(m))})
				}
				return
			}
			probs = append(probs, f.Problem(path, "%s", trimYAMLErr(err)))
		}
	}
	names := make([]string, 0, len(f.Connections))
	for n := range f.Connections {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		c := f.Connections[name]
		if c == nil {
			continue
		}
		if k, ok := connector.Lookup(c.Type); ok {
			c.Config = k.NewConfig()
			decode("connections."+name, c.Config)
		}
	}
	for _, s := range f.Syncs {
		if s == nil {
			continue
		}
		if k := f.connectorOf(s.Source.Connection); k != nil && k.Source != nil {
			s.Source.Config = k.Source.NewConfig()
			decode(s.Field()+".source", s.Source.Config)
		}
		if k := f.connectorOf(s.Destination.Connection); k != nil && k.Dest != nil {
			s.Destination.Config = k.Dest.NewConfig()
			decode(s.Field()+".destination", s.Destination.Config)
		}
	}
	return probs
}

// connectorOf returns the connector of a named connection, or nil.
func (f *File) connectorOf(conn string) *connector.Connector {
	c := f.Connections[conn]
	if c == nil {
		return nil
	}
	k, _ := connector.Lookup(c.Type)
	return k
}

// problems adapts the spec's reporter to a connector's Problems, under the
// block's path.
type problems struct {
	prefix string
	bad    func(field, format string, args ...any)
	// warn, when set, takes the block's warnings (connector.Warner).
	warn func(field, format string, args ...any)
}

func (p problems) path(field string) string {
	if field == "" {
		return p.prefix
	}
	return p.prefix + "." + field
}

// Warn implements connector.Warner.
func (p problems) Warn(field, format string, args ...any) {
	if p.warn != nil {
		p.warn(p.path(field), format, args...)
	}
}

func (p problems) Add(field, format string, args ...any) {
	p.bad(p.path(field), format, args...)
}
