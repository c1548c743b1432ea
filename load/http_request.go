package load

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"text/template"

	"github.com/hoist-dev/hoist/internal/httpkit"
)

// tmplData is what path and body templates see.
type tmplData struct {
	Sync, Object, Op string
	// Row and ID: a per-row operation's row and its record ID.
	Row map[string]any
	ID  string
	// Rows, IDs and Records: a batched operation's rows, their record IDs
	// (aligned), and both together.
	Rows    []map[string]any
	IDs     []string
	Records []tmplRecord
}

// tmplRecord is one row of a batched request with its record ID.
type tmplRecord struct {
	Row map[string]any
	ID  string
}

var tmplFuncs = template.FuncMap{
	"json": func(v any) (string, error) {
		b, err := marshalJSON(v)
		return string(b), err
	},
}

func (w *httpWriter) buildRequest(r *opRequest, items []item) (httpkit.Request, error) {
	data := tmplData{Sync: w.target.Sync, Object: w.target.Dest.Object, Op: r.name}
	for _, it := range items {
		data.Rows = append(data.Rows, it.body)
		data.IDs = append(data.IDs, it.id)
		data.Records = append(data.Records, tmplRecord{Row: it.body, ID: it.id})
	}
	pathData := data
	if !r.batch {
		data.Row, data.ID = items[0].body, items[0].id
		// the path sees the whole row (a patch may leave a field it names
		// out of the body), escaped
		pathData.Row, pathData.ID = escapeRow(items[0].full, ""), escapeSegment(items[0].id)
		if items[0].id == "" {
			pathData.ID = pathMark + "record ID" + pathMark
		}
	}
	var path strings.Builder
	if err := r.path.Execute(&path, pathData); err != nil {
		return httpkit.Request{}, fmt.Errorf("render path of operation %s: %w", r.name, err)
	}
	if err := pathValue(path.String()); err != nil {
		return httpkit.Request{}, err
	}
	u, err := w.client.Resolve(path.String())
	if err != nil {
		return httpkit.Request{}, fmt.Errorf("operation %s: %w", r.name, err)
	}
	if !w.client.SameOrigin(u) {
		return httpkit.Request{}, fmt.Errorf("operation %s: path leads off base_url's host; headers are only sent there", r.name)
	}
	var body []byte
	switch {
	case r.body != nil:
		var sb strings.Builder
		if err := r.body.Execute(&sb, data); err != nil {
			return httpkit.Request{}, fmt.Errorf("render body of operation %s: %w", r.name, err)
		}
		body = []byte(sb.String())
	case r.batch:
		body, err = marshalJSON(data.Rows)
	case r.method != http.MethodDelete && r.method != http.MethodGet:
		body, err = marshalJSON(items[0].body)
	}
	if err != nil {
		return httpkit.Request{}, fmt.Errorf("encode body of operation %s: %w", r.name, err)
	}
	h := http.Header{}
	h.Set("Idempotency-Key", idempotencyKey(w.target.Sync, r.name, r.method, u.String(), body))
	// Only a body something reads is kept: do not hold megabytes of it per
	// request in flight.
	return httpkit.Request{Method: r.method, URL: u, Body: body, Header: h, Gate: connGate{own: w.gate, conn: w.slots}, DiscardSuccessBody: !r.readsBody()}, nil
}

// idempotencyKey is the same for every retry of one request and differs for
// any other content, so an API that honours it applies a retried POST once.
func idempotencyKey(sync, op, method, u string, body []byte) string {
	h := sha256.New()
	for _, s := range []string{sync, op, method, u} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// escapeRow returns a copy of row whose scalar values are path-escaped.
// "." and ".." are percent-encoded too: raw, they are dot segments, and
// DELETE /contacts/.. would address the collection. A null or empty value
// becomes a marker naming its field, for pathValue to find.
func escapeRow(row map[string]any, prefix string) map[string]any {
	out := make(map[string]any, len(row))
	for k, v := range row {
		switch x := v.(type) {
		case map[string]any:
			out[k] = escapeRow(x, prefix+k+".")
		case nil:
			out[k] = pathMark + prefix + k + pathMark
		case string:
			out[k] = escapeSegment(x)
			if x == "" {
				out[k] = pathMark + prefix + k + pathMark
			}
		default:
			out[k] = escapeSegment(fmt.Sprint(x))
		}
	}
	return out
}

func escapeSegment(s string) string {
	switch s {
	case ".":
		return "%2E"
	case "..":
		return "%2E%2E"
	}
	return url.PathEscape(s)
}

// pathMark brackets the name of a null or empty field in a rendered path;
// NUL cannot come from an escaped value.
const pathMark = "\x00"

// pathValueError is a row whose path would take a null or empty value: the
// request would address another resource (PUT /contacts/ is the collection),
// so the row is rejected, as a null key is, and never sent.
type pathValueError struct{ field string }

func (e *pathValueError) Error() string {
	if e.field == "record ID" {
		return "the record ID is unknown, and the operation's path needs it"
	}
	return fmt.Sprintf("field %s is null or empty, and the operation's path needs it: the request would address another resource", e.field)
}

// pathValue finds a marker left by escapeRow in a rendered path.
func pathValue(path string) error {
	i := strings.Index(path, pathMark)
	if i < 0 {
		return nil
	}
	field, _, _ := strings.Cut(path[i+len(pathMark):], pathMark)
	return &pathValueError{field: field}
}
