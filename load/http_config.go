package load

import (
	"slices"
	"sort"
	"strings"
	"text/template"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/sync/spec"
)

// HTTPDest is an http destination's keys: one request template per
// operation, and the business-app keys (patch, nulls, on_delete).
type HTTPDest struct {
	Operations        map[string]*HTTPOperation `yaml:"operations" doc:"map of operation (upsert, insert, update, delete, lookup, archive) to request template"`
	connector.AppDest `yaml:",inline"`
}

// httpAppRules: every value; a NULL is sent as null unless told otherwise,
// and clear sends an empty string (an API's usual way to empty a field).
var httpAppRules = connector.AppRules{
	Patch:    []string{connector.PatchAll, connector.PatchChanged},
	Nulls:    []string{connector.NullsSend, connector.NullsSkip, connector.NullsClear},
	OnDelete: []string{connector.DeleteDelete, connector.DeleteArchive, connector.DeleteClear, connector.DeleteIgnore},
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
	ErrorsPath string `yaml:"errors_path" doc:"dotted path of per-row errors in a 2xx response, matched by an index field or else by position (prefer errors)"`
	// Errors reads per-record errors from a 2xx (207) body, matched to the
	// request's rows by identity.
	Errors *HTTPErrors `yaml:"errors" doc:"per-record errors of a 2xx (e.g. 207) response, and how each names the rows it is about"`
	// IDPath reads the record ID the API gave a row from a per-row response.
	IDPath string `yaml:"id_path" doc:"per-row operations: dotted path of the record ID in the response (e.g. id); kept in state and given to later requests as .ID"`
	// Results reads record IDs from a batched response.
	Results *HTTPResults `yaml:"results" doc:"batched operations: the per-record results of a 2xx response, and how each names its row"`
}

// HTTPResults finds the per-record results of a batched 2xx response and the
// record ID in each, matched to the request's rows by key, index or position.
type HTTPResults struct {
	Path    string `yaml:"path" doc:"dotted path of the array of results"`
	ID      string `yaml:"id" doc:"in each result: dotted path of the record ID (default id)"`
	Key     string `yaml:"key" doc:"in each result: dotted path of the value naming its row (compared with field)"`
	Field   string `yaml:"field" doc:"the row field key's value is compared with (default: the primary key)"`
	Index   string `yaml:"index" doc:"in each result: dotted path of its row's index in the request"`
	Ordered bool   `yaml:"ordered" doc:"results are in request order, one per row (only where the API promises it)"`
}

// HTTPErrors finds the per-record errors of a 2xx response and the rows each
// is about: by the key values or record IDs it names, its index, or (only
// where the API promises its order) its position.
type HTTPErrors struct {
	Path    string `yaml:"path" doc:"dotted path of the array of errors"`
	Keys    string `yaml:"keys" doc:"in each error: dotted path of the value, or array of values, naming its rows (compared with field)"`
	IDs     string `yaml:"ids" doc:"in each error: dotted path of the record ID, or array of IDs, of its rows"`
	Field   string `yaml:"field" doc:"the row field keys' values are compared with (default: the primary key)"`
	Index   string `yaml:"index" doc:"in each error: dotted path of its row's index in the request"`
	Ordered bool   `yaml:"ordered" doc:"errors are aligned with the request's rows, null or {} for a row that went through (only where the API promises it)"`
	Message string `yaml:"message" doc:"in each error: dotted path of the message (default message, error, detail or reason)"`
}

// HTTPOperations are the operations an http destination can declare.
var HTTPOperations = []string{"upsert", "insert", "update", "delete", "lookup", "archive"}

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
	_, err := parseTemplate(text)
	return err
}

func parseTemplate(text string) (*template.Template, error) {
	return template.New("").Funcs(tmplFuncs).Option("missingkey=error").Parse(text)
}

// Validate implements connector.DestConfig.
func (h *HTTPDest) Validate(dst connector.Dest, p connector.Problems) {
	h.AppDest.Validate(dst, p, httpAppRules)
	if len(h.Operations) == 0 {
		p.Add("operations", "an http destination needs operations (upsert, insert, update, delete)")
		return
	}
	names := make([]string, 0, len(h.Operations))
	for op := range h.Operations {
		names = append(names, op)
	}
	sort.Strings(names)
	learns, usesID := false, ""
	for _, op := range names {
		o := h.Operations[op]
		q := "operations." + op
		if !slices.Contains(HTTPOperations, op) {
			p.Add(q, "unknown operation %q (want %s)", op, connector.List(HTTPOperations))
		}
		if o == nil || o.Path == "" {
			p.Add(q+".path", "path is required")
			continue
		}
		for _, t := range []struct{ field, text string }{{"path", o.Path}, {"body", o.Body}} {
			if t.text == "" {
				continue
			}
			tmpl, err := parseTemplate(t.text)
			if err != nil {
				p.Add(q+"."+t.field, "invalid template: %s", templateErr(err))
				continue
			}
			if usesRecordID(tmpl) && op != opLookup && usesID == "" {
				usesID = q + "." + t.field
			}
		}
		if o.IDPath != "" || (o.Results != nil && op != opLookup) {
			learns = true
		}
		o.validate(op, dst, q, p)
	}
	routes := routeHTTP(dst.Mode, func(n string) bool { return h.Operations[n] != nil }, h.OnDelete)
	if routes.missing != "" {
		p.Add("operations", "%s", routes.missing)
	}
	for _, op := range names {
		if why, ok := routes.unused[op]; ok {
			connector.Warn(p, "operations."+op, "%s", why)
		}
	}
	switch {
	case usesID != "" && !learns && h.Operations[opLookup] == nil:
		p.Add(usesID, "uses the record ID (.ID), but no operation learns one (id_path, results) and there is no operations.lookup to find it")
	case usesID == "" && h.Operations[opLookup] != nil:
		connector.Warn(p, "operations."+opLookup, "no operation's path or body uses the record ID (.ID, .IDs, .Records), so operations.lookup is never sent")
	}
}

// validate checks one operation's own keys; q is its field path.
func (o *HTTPOperation) validate(op string, dst connector.Dest, q string, p connector.Problems) {
	if o.Batch && o.IDPath != "" {
		p.Add(q+".id_path", "id_path reads a per-row response; a batched operation reads its record IDs with results")
	}
	if !o.Batch && o.Results != nil {
		p.Add(q+".results", "results reads a batched response; a per-row operation reads its record ID with id_path")
	}
	if op == opLookup {
		if o.Batch {
			p.Add(q+".batch", "operations.lookup looks one record up at a time")
		}
		if o.IDPath == "" {
			p.Add(q+".id_path", "operations.lookup needs id_path: where the found record's ID is in its answer")
		}
	}
	single := len(dst.PrimaryKey) == 1
	if r := o.Results; r != nil {
		if r.Path == "" {
			p.Add(q+".results.path", "path is required")
		}
		switch n := countSet(r.Key != "", r.Index != "", r.Ordered); {
		case n == 0:
			p.Add(q+".results", "say how a result names its row: key (a value of the row's field), index, or ordered: true (only where the API promises request order)")
		case n > 1:
			p.Add(q+".results", "set one of key, index or ordered")
		}
		if r.Key != "" && r.Field == "" && !single {
			p.Add(q+".results.field", "field is required with a primary key of %d columns: the row field key's value is compared with", len(dst.PrimaryKey))
		}
	}
	if e := o.Errors; e != nil {
		if o.ErrorsPath != "" {
			p.Add(q+".errors_path", "set errors or errors_path, not both")
		}
		if e.Path == "" {
			p.Add(q+".errors.path", "path is required")
		}
		switch n := countSet(e.Keys != "", e.IDs != "", e.Index != "", e.Ordered); {
		case n == 0:
			p.Add(q+".errors", "say how an error names its rows: keys (values of the rows' field), ids (record IDs), index, or ordered: true (only where the API promises request order)")
		case n > 1:
			p.Add(q+".errors", "set one of keys, ids, index or ordered")
		}
		if e.Keys != "" && e.Field == "" && !single {
			p.Add(q+".errors.field", "field is required with a primary key of %d columns: the row field keys' values are compared with", len(dst.PrimaryKey))
		}
	}
	if o.ErrorsPath != "" && o.Errors == nil {
		connector.Warn(p, q+".errors_path", "errors_path matches an error to its row by an index field, or else by its place in the array: right only if the API answers in request order; errors: {path, keys | ids | index | ordered} says how")
	}
}

func countSet(bs ...bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
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
