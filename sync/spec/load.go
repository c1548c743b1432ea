package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	stdsync "sync"
	"time"

	"gopkg.in/yaml.v3"
)

// Problem is one thing wrong with a spec, located at file:line and a field path.
type Problem struct {
	File  string
	Line  int
	Field string
	Msg   string
}

func (p *Problem) Error() string {
	loc := p.File
	if p.Line > 0 {
		loc = fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	if p.Field != "" {
		return fmt.Sprintf("%s: %s: %s", loc, p.Field, p.Msg)
	}
	return fmt.Sprintf("%s: %s", loc, p.Msg)
}

// Env looks up an environment variable; os.LookupEnv in production.
type Env func(string) (string, bool)

// Load reads, expands and validates the spec at path. The error, if any,
// joins every problem found (each a *Problem), not just the first.
func Load(path string) (*File, error) {
	return LoadSyncs(path, nil)
}

// LoadSyncs is Load for a run of the named syncs only (nil: all of them): an
// environment variable that is unset in a connection or sync none of them
// uses is not a problem for this run. Every other problem still is.
func LoadSyncs(path string, names []string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read spec: %w", err)
	}
	return ParseSyncs(path, data, os.LookupEnv, names)
}

// Parse is Load on bytes with an injectable environment.
func Parse(path string, data []byte, env Env) (*File, error) {
	return ParseSyncs(path, data, env, nil)
}

// ParseSyncs is LoadSyncs on bytes with an injectable environment.
func ParseSyncs(path string, data []byte, env Env, names []string) (*File, error) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		return nil, &Problem{File: path, Line: yamlErrLine(err), Msg: "invalid YAML: " + trimYAMLErr(err)}
	}
	if len(root.Content) == 0 {
		return nil, &Problem{File: path, Msg: "spec is empty"}
	}
	// Every relative path in a spec (state folder, files, databases, the
	// rejected-rows file) is resolved once, against the spec's own folder,
	// so a spec behaves the same from any working directory.
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, &Problem{File: path, Msg: "resolve the spec's folder: " + err.Error()}
	}
	f := &File{Path: path, Dir: dir, pos: map[string]int{}, skip: map[string]bool{}}
	var probs []*Problem
	add := func(line int, field, msg string) {
		probs = append(probs, &Problem{File: path, Line: line, Field: field, Msg: msg})
	}
	// A second document would be silently ignored: say so instead.
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		add(extra.Line, "", "the spec holds more than one YAML document (a second one starts here); hoist reads one: remove the extra ---")
	} else if !errors.Is(err, io.EOF) {
		add(yamlErrLine(err), "", "invalid YAML: "+trimYAMLErr(err))
	}
	doc := root.Content[0]
	w := &walker{pos: f.pos, skip: f.skip, env: env, add: add, nodes: map[string]*yaml.Node{}}
	w.connTypes = connectionTypes(doc, env)
	w.walk(doc, reflect.TypeOf(File{}), "")
	if f.skip[""] {
		return nil, joinProblems(probs)
	}
	// walk made every value decodable (or null), so a type error here is a
	// case it missed: report it rather than guess.
	if err := doc.Decode(f); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			for _, m := range te.Errors {
				add(yamlErrLine(errors.New(m)), "", trimYAMLErr(errors.New(m)))
			}
			return nil, joinProblems(probs)
		}
		return nil, &Problem{File: path, Msg: trimYAMLErr(err)}
	}
	for name, c := range f.Connections {
		if c == nil {
			add(f.Line("connections."+name), "connections."+name, "connection is empty")
			continue
		}
		c.Name = name
	}
	for i, s := range f.Syncs {
		if s == nil {
			add(f.Line(fmt.Sprintf("syncs[%d]", i)), fmt.Sprintf("syncs[%d]", i), "sync is empty")
			continue
		}
		s.Index = i
	}
	for _, p := range f.decodeConfigs(w.nodes) {
		probs = append(probs, p)
	}
	f.applyDefaults()
	if err := f.Validate(); err != nil {
		for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
			if p, ok := e.(*Problem); ok {
				probs = append(probs, p)
			}
		}
	}
	for _, p := range w.warns {
		p.File = f.Path
	}
	f.Warnings = append(w.warns, f.Warnings...)
	probs = append(probs, f.envProblems(w.envProbs, names)...)
	if len(probs) > 0 {
		return nil, joinProblems(probs)
	}
	return f, nil
}

// ResolveState makes a relative file:// state URL absolute against dir; other
// URLs are returned as they are.
func ResolveState(url, dir string) string {
	p, ok := strings.CutPrefix(url, "file://")
	if !ok || filepath.IsAbs(p) || p == "" {
		return url
	}
	return "file://" + filepath.Join(dir, p)
}

// LegacyStateDir is where a hoist before state identity kept the default
// state (.hoist/ beside the spec, one folder per sync), or "" when the
// spec's state is not the default.
func (f *File) LegacyStateDir() string {
	if !f.DefaultState {
		return ""
	}
	return filepath.Join(f.Dir, ".hoist")
}

// joinProblems joins problems in file order, so that the report reads from
// the top of the spec down whatever check found them.
func joinProblems(probs []*Problem) error {
	sort.SliceStable(probs, func(i, j int) bool { return probs[i].Line < probs[j].Line })
	errs := make([]error, len(probs))
	for i, p := range probs {
		errs[i] = p
	}
	return errors.Join(errs...)
}

// Line returns the line of a field path, falling back to its closest parent.
func (f *File) Line(path string) int {
	for path != "" {
		if l, ok := f.pos[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

// Problem builds a located problem for a field path.
func (f *File) Problem(field, format string, args ...any) *Problem {
	return &Problem{File: f.Path, Line: f.Line(field), Field: field, Msg: fmt.Sprintf(format, args...)}
}

func (f *File) applyDefaults() {
	if f.State == "" {
		// The default state is keyed by spec file and sync: two specs in one
		// folder with a sync of the same name never share state.
		f.State = "file://" + filepath.Join(f.Dir, ".hoist", filepath.Base(f.Path))
		f.DefaultState = true
	} else {
		f.State = ResolveState(f.State, f.Dir)
	}
	for _, s := range f.Syncs {
		if s == nil {
			continue
		}
		if s.Concurrency == 0 {
			s.Concurrency, s.ConcurrencyDefault = DefaultConcurrency, true
		}
		if s.OnDuplicate == "" {
			s.OnDuplicate = "error"
		}
		if s.MaxDeleteFraction == nil {
			v := DefaultMaxDeleteFraction
			s.MaxDeleteFraction = &v
		}
	}
}

// walker records the line of every field, expands ${VAR} in scalars and
// rejects keys the target type does not have and values of the wrong shape.
// A value it rejects is replaced by null and its path marked in skip, so
// that decoding goes on and Validate does not report it a second time.
type walker struct {
	pos  map[string]int
	skip map[string]bool
	env  Env
	add  func(int, string, string)
	// connTypes maps each connection to its type, read before the walk so
	// that a connection's, source's or destination's keys are checked
	// against what its type's connector declares.
	connTypes map[string]string
	// nodes keeps the mapping of every connection, source and destination
	// block, for decodeConfigs.
	nodes map[string]*yaml.Node
	// warns are keys that do not apply to their block's type: ignored.
	warns []*Problem
	// envProbs are unset or malformed ${VAR}s, kept apart because whether
	// they matter depends on the syncs a command runs.
	envProbs []*Problem
}

func (w *walker) walk(n *yaml.Node, t reflect.Type, path string) {
	if path != "" {
		w.pos[path] = n.Line
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	reject := func(msg string) {
		w.add(n.Line, path, msg)
		w.skip[path] = true
		*n = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: n.Line, Column: n.Column}
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return
		}
		v, err := Expand(n.Value, w.env)
		if err != nil {
			w.envProbs = append(w.envProbs, &Problem{Line: n.Line, Field: path, Msg: err.Error()})
			w.skip[path] = true
			// Keep the text where text is expected, so "required" checks
			// pass; a number or flag becomes unset.
			if t.Kind() == reflect.String {
				n.Tag, n.Style = "!!str", 0
			} else {
				*n = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: n.Line, Column: n.Column}
			}
			return
		}
		if v != n.Value {
			n.Value = v
			// A value that came from the environment is text unless the field is not.
			if t.Kind() == reflect.String {
				n.Tag = "!!str"
				n.Style = 0
			} else {
				n.Tag = ""
			}
		}
		switch t.Kind() {
		case reflect.Struct, reflect.Map, reflect.Slice:
			reject("expected a " + kindName(t) + ", got " + fmt.Sprintf("%q", n.Value))
		case reflect.String:
		default:
			if err := n.Decode(reflect.New(t).Interface()); err != nil {
				reject(scalarError(t, n.Value, err))
			}
		}
	case yaml.MappingNode:
		switch t.Kind() {
		case reflect.Struct:
			fields := yamlFields(t)
			ext := w.extension(t, n, path)
			if ext != nil {
				w.nodes[path] = n
				fields = ext.fields
			}
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				ft, ok := fields[k.Value]
				child := join(path, k.Value)
				if !ok {
					if ext != nil {
						if msg, report, warn := ext.unknown(k.Value); warn {
							w.warns = append(w.warns, &Problem{Line: k.Line, Field: child, Msg: msg})
						} else if report {
							w.add(k.Line, child, msg)
						}
						continue
					}
					w.add(k.Line, child, "unknown key"+suggest(k.Value, fields))
					continue
				}
				w.walk(v, ft, child)
			}
		case reflect.Map:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				w.walk(v, t.Elem(), join(path, k.Value))
			}
		default:
			reject("expected a " + kindName(t) + ", got a mapping")
		}
	case yaml.SequenceNode:
		if t.Kind() != reflect.Slice {
			reject("expected a " + kindName(t) + ", got a list")
			return
		}
		for i, c := range n.Content {
			w.walk(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	case yaml.AliasNode:
		reject("YAML aliases are not supported")
	}
}

// scalarError says what a scalar of the wrong type should have been.
func scalarError(t reflect.Type, v string, err error) string {
	if t == reflect.TypeOf(Duration(0)) {
		return fmt.Sprintf("invalid duration %q (use 30s, 5m)", v)
	}
	switch t.Kind() {
	case reflect.Bool:
		return fmt.Sprintf("expected true or false, got %q", v)
	case reflect.Int, reflect.Int64, reflect.Float64:
		return fmt.Sprintf("expected a %s, got %q", map[bool]string{true: "whole number", false: "number"}[t.Kind() != reflect.Float64], v)
	}
	return trimYAMLErr(err)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "mapping"
	case reflect.Slice:
		return "list"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int64, reflect.Float64:
		return "number"
	}
	return "string"
}

var (
	fieldMu    stdsync.Mutex
	fieldCache = map[reflect.Type]map[string]reflect.Type{}
)

func yamlFields(t reflect.Type) map[string]reflect.Type {
	fieldMu.Lock()
	defer fieldMu.Unlock()
	if m, ok := fieldCache[t]; ok {
		return m
	}
	m := map[string]reflect.Type{}
	addFields(t, m)
	fieldCache[t] = m
	return m
}

// addFields adds t's yaml keys to m, with those of structs it embeds inline
// (a connector reusing connector.SQLSource, say).
func addFields(t reflect.Type, m map[string]reflect.Type) {
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		name, opts, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if opts == "inline" {
			ft := sf.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			addFields(ft, m)
			continue
		}
		if name == "" || name == "-" {
			continue
		}
		m[name] = sf.Type
	}
}

// suggest names the closest known key, for typos.
func suggest(key string, fields map[string]reflect.Type) string {
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	best := Closest(key, names)
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// Closest returns the name among names nearest to name within an edit
// distance of 2 (the first in sorted order on a tie), or "": the "did you
// mean" of spec keys and of destination fields.
func Closest(name string, names []string) string {
	names = slices.Sorted(slices.Values(names))
	best, bestD := "", 3
	for _, k := range names {
		if d := levenshtein(name, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// Expand replaces ${VAR} and ${VAR:-default}; $$ is a literal $. An unset
// variable without a default is an error naming it (never its value).
func Expand(s string, env Env) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	var missing []string
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
			continue
		case '{':
		default:
			b.WriteByte(c)
			continue
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", fmt.Errorf("unterminated ${ in %q", s)
		}
		expr := s[i+2 : i+end]
		name, def, hasDef := strings.Cut(expr, ":-")
		if !validEnvName(name) {
			return "", fmt.Errorf("invalid variable name %q", name)
		}
		v, ok := env(name)
		switch {
		case ok && v != "":
			b.WriteString(v)
		case hasDef:
			b.WriteString(def)
		case ok:
			// set but empty, no default: empty is what the user asked for
		default:
			missing = append(missing, name)
		}
		i += end
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("environment variable %s is not set", strings.Join(missing, ", "))
	}
	return b.String(), nil
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r == '_' || (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z') || (i > 0 && r >= '0' && r <= '9') {
			continue
		}
		return false
	}
	return true
}

// UnmarshalYAML parses "30s", "5m" or a bare number of seconds.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if secs, err := strconv.ParseFloat(n.Value, 64); err == nil {
		*d = Duration(secs * float64(time.Second))
		return nil
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: invalid duration %q (use 30s, 5m)", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

func yamlErrLine(err error) int {
	s := err.Error()
	i := strings.Index(s, "line ")
	if i < 0 {
		return 0
	}
	j := i + 5
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	n, _ := strconv.Atoi(s[i+5 : j])
	return n
}

func trimYAMLErr(err error) string {
	s := strings.TrimPrefix(err.Error(), "yaml: ")
	if i := strings.Index(s, "line "); i == 0 {
		if j := strings.Index(s, ": "); j > 0 {
			s = s[j+2:]
		}
	}
	return s
}
