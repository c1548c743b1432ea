package load

import (
	"slices"
	"sort"
	"strings"
	"text/template"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/sync/spec"
)

// HTTPDest is an http destination's keys: one request template per operation.
type HTTPDest struct {
	Operations map[string]*HTTPOperation `yaml:"operations" doc:"map of operation (upsert, insert, update, delete) to request template"`
}

// HTTPOperation is the request template for one operation (upsert, insert, update, delete).
type HTTPOperation struct {
	Method string `yaml:"method" doc:"HTTP method (default POST for batched operations; per row PUT for upsert and update, POST for insert, DELETE for delete)"`
	Path   string `yaml:"path" doc:"Go text/template of the path, with .Row (per-row operations), .Sync, .Object, .Op; values are URL-escaped"`
	// Body is a text/template rendered with .Rows (batched) or .Row (per row).
	Body string `yaml:"body" doc:"Go text/template with .Rows (batched) or .Row and a json function; default the JSON array of rows or the row object"`
	// Batch sends batch_size rows per request; otherwise one request per row.
	Batch bool `yaml:"batch" doc:"send batch_size rows per request; otherwise one request per row"`
	// ErrorsPath reads per-row errors (by index) from a 2xx response body.
	ErrorsPath string `yaml:"errors_path" doc:"dotted path of per-row errors (by index) in a 2xx response"`
}

// HTTPOperations are the operations an http destination can declare.
var HTTPOperations = []string{"upsert", "insert", "update", "delete"}

// Operations that are not a batch op of their own: lookup finds a record ID
// the state lacks, archive takes mirror's deletes under on_delete: archive.
const (
	opLookup  = "lookup"
	opArchive = "archive"
)

// httpDestRole is what an http destination can do: every mode but replace,
// which an API cannot do atomically; the operations name their own paths,
// so it needs no object.
var httpDestRole = connector.DestRole{
	NewConfig:      func() connector.DestConfig { return &HTTPDest{} },
	Modes:          []string{spec.ModeInsert, spec.ModeUpdate, spec.ModeUpsert, spec.ModeMirror, spec.ModeAppend},
	Why:            map[string]string{spec.ModeReplace: "mode replace cannot be done atomically through an API; use upsert or mirror"},
	ObjectOptional: true,
}

// CheckTemplate parses an http operation's path or body template as the
// destination will, so a broken one fails validate rather than the first batch.
func CheckTemplate(text string) error {
	_, err := template.New("").Funcs(tmplFuncs).Parse(text)
	return err
}

// Validate implements connector.DestConfig.
func (h *HTTPDest) Validate(dst connector.Dest, p connector.Problems) {
	if len(h.Operations) == 0 {
		p.Add("operations", "an http destination needs operations (upsert, insert, update, delete)")
		return
	}
	names := make([]string, 0, len(h.Operations))
	for op := range h.Operations {
		names = append(names, op)
	}
	sort.Strings(names)
	for _, op := range names {
		o := h.Operations[op]
		q := "operations." + op
		if !slices.Contains(HTTPOperations, op) {
			p.Add(q, "unknown operation %q (want upsert, insert, update or delete)", op)
		}
		if o == nil || o.Path == "" {
			p.Add(q+".path", "path is required")
			continue
		}
		if err := CheckTemplate(o.Path); err != nil {
			p.Add(q+".path", "invalid template: %s", templateErr(err))
		}
		if o.Body != "" {
			if err := CheckTemplate(o.Body); err != nil {
				p.Add(q+".body", "invalid template: %s", templateErr(err))
			}
		}
	}
	routes := routeHTTP(dst.Mode, func(n string) bool { return h.Operations[n] != nil }, true)
	if routes.missing != "" {
		p.Add("operations", "%s", routes.missing)
	}
	for _, op := range names {
		if why, ok := routes.unused[op]; ok {
			connector.Warn(p, "operations."+op, "%s", why)
		}
	}
}

// templateErr drops text/template's `template: :1:` prefix, which names
// neither file nor field; the problem's location does.
func templateErr(err error) string {
	s := strings.TrimPrefix(err.Error(), "template: ")
	if i := strings.Index(s, ": "); i >= 0 && strings.HasPrefix(s, ":") {
		s = s[i+2:]
	}
	return s
}
