package load

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/template"

	"golang.org/x/sync/errgroup"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/internal/httpkit"
	"github.com/hoist-dev/hoist/sync/spec"
)

// The http destination sends mapped rows to a JSON API, one request template
// per operation (see HTTPOperation):
//
//   - method: default POST for batched operations; for per-row ones PUT
//     (upsert, update), POST (insert) or DELETE (delete).
//   - path: a text/template with .Row (per-row operations), .Sync, .Object
//     and .Op; values reach the path URL-escaped, so an id holding "/" or
//     "?" stays one path segment.
//   - body: a text/template with .Rows (batched) or .Row (per row) and a json
//     function; when empty, the JSON array of rows (batched) or the row
//     object (per row), and no body for a per-row DELETE.
//
// Operations used per batch op: upsert → upsert; insert and append → insert,
// or upsert when only upsert is defined (insert mode only sends new keys, so
// an upsert endpoint does the same job); update → update; delete → delete.
//
// Statuses: 2xx delivers the batch (minus per-row errors read at errors_path);
// 429 and 5xx are retried; 400, 409, 413 and 422 reject rows: a batch is
// split in halves until the offending rows stand alone; any other 4xx (401,
// 403, 404 …) is a configuration problem and fails the batch. An insert
// answered 409 and a delete answered 404 count as done: the key already
// exists, or is already gone, which is what those operations allow. A
// per-row update answered 404 is not held (Result.NotHeld): the API lacks
// the key and the update left it alone. A batched update cannot say which
// of its rows found their key, so a 2xx counts every row delivered.

func init() { Register(httpkit.Type, httpDestRole, openHTTP) }

type httpDest struct {
	name   string
	conn   *httpkit.Config
	client *httpkit.Client
}

var _ Destination = (*httpDest)(nil)

func openHTTP(_ context.Context, conn *spec.Connection, _ string) (Destination, error) {
	cfg, err := connector.As[*httpkit.Config](conn.Config)
	if err != nil {
		return nil, err
	}
	c, err := httpkit.NewClient(conn.Name, cfg)
	if err != nil {
		return nil, err
	}
	return &httpDest{name: conn.Name, conn: cfg, client: c}, nil
}

func (d *httpDest) Close() error {
	d.client.Close()
	return nil
}

// opRequest is one operation's compiled request template.
type opRequest struct {
	name       string
	method     string
	path       *template.Template
	body       *template.Template // nil: default JSON body
	batch      bool
	errorsPath []string
}

// tmplData is what path and body templates see.
type tmplData struct {
	Sync, Object, Op string
	Row              map[string]any
	Rows             []map[string]any
}

var tmplFuncs = template.FuncMap{
	"json": func(v any) (string, error) {
		b, err := marshalJSON(v)
		return string(b), err
	},
}

func (d *httpDest) Open(ctx context.Context, t Target) (Writer, error) {
	if t.Dest == nil {
		return nil, errors.New("http destination: no destination block")
	}
	// validate refuses these modes already; a caller of the API may not have validated
	if why, refused := httpDestRole.Why[t.Dest.Mode]; refused {
		return nil, fmt.Errorf("http destination %s: %s", d.name, why)
	}
	cfg, err := connector.As[*HTTPDest](t.Dest.Config)
	if err != nil {
		return nil, fmt.Errorf("http destination %s: %w", d.name, err)
	}
	compiled := map[string]*opRequest{}
	for name, o := range cfg.Operations {
		if o == nil {
			continue
		}
		r, err := compileOp(name, o)
		if err != nil {
			return nil, fmt.Errorf("http destination %s: operations.%s: %w", d.name, name, err)
		}
		compiled[name] = r
	}
	w := &httpWriter{
		client: d.client.WithLogger(t.Log()),
		target: t,
		ops:    map[Op]*opRequest{},
		gate:   newAIMD(d.conn.MaxConcurrency),
	}
	routes := routeHTTP(t.Dest.Mode, func(n string) bool { return compiled[n] != nil }, true)
	if routes.missing != "" {
		return nil, fmt.Errorf("http destination %s: %s", d.name, routes.missing)
	}
	// Every op the declared operations can do, for callers that write
	// other ops than the mode's (load.OpFor); then the mode's own routes.
	pick := func(names ...string) *opRequest {
		for _, n := range names {
			if r := compiled[n]; r != nil {
				return r
			}
		}
		return nil
	}
	w.ops[OpUpsert] = pick("upsert")
	w.ops[OpInsert] = pick("insert", "upsert")
	w.ops[OpAppend] = pick("insert", "upsert")
	w.ops[OpUpdate] = pick("update")
	w.ops[OpDelete] = pick("delete")
	for op, name := range routes.ops {
		w.ops[op] = compiled[name]
	}
	w.split = routes.split
	return w, nil
}

func compileOp(name string, o *HTTPOperation) (*opRequest, error) {
	r := &opRequest{name: name, method: strings.ToUpper(o.Method), batch: o.Batch}
	if r.method == "" {
		switch {
		case o.Batch:
			r.method = http.MethodPost
		case name == "delete":
			r.method = http.MethodDelete
		case name == "insert":
			r.method = http.MethodPost
		default:
			r.method = http.MethodPut
		}
	}
	var err error
	if r.path, err = template.New("path").Funcs(tmplFuncs).Option("missingkey=error").Parse(o.Path); err != nil {
		return nil, fmt.Errorf("path template: %w", err)
	}
	if o.Body != "" {
		if r.body, err = template.New("body").Funcs(tmplFuncs).Option("missingkey=error").Parse(o.Body); err != nil {
			return nil, fmt.Errorf("body template: %w", err)
		}
	}
	if o.ErrorsPath != "" {
		r.errorsPath = strings.Split(o.ErrorsPath, ".")
	}
	return r, nil
}

// httpWriter writes one run of one sync. Writes run concurrently; every
// attempt goes through the AIMD gate and the connection's limiter.
type httpWriter struct {
	client *httpkit.Client
	target Target
	ops    map[Op]*opRequest
	gate   *aimd
	// split: rows new to the snapshot come as OpInsert and changed ones as
	// OpUpdate (see KindRouter); an update answered 404 per row is then
	// sent again as an insert: the API lost the record, and upsert and
	// mirror create what is missing.
	split bool
}

var (
	_ Writer     = (*httpWriter)(nil)
	_ KindRouter = (*httpWriter)(nil)
)

// RoutesByKind implements KindRouter.
func (w *httpWriter) RoutesByKind() bool { return w.split }

// Concurrency is 0: the pipeline may run as many Writes as it likes, the
// adaptive gate decides how many requests are actually in flight.
func (w *httpWriter) Concurrency() int { return 0 }

// Commit and Abort have nothing to do: every acknowledged request is final.
func (w *httpWriter) Commit(context.Context) error { return nil }
func (w *httpWriter) Abort(context.Context) error  { return nil }

func (w *httpWriter) Write(ctx context.Context, b Batch) (Result, error) {
	r := w.ops[b.Op]
	if r == nil {
		return Result{}, fmt.Errorf("write batch %d: no http operation for %s", b.Seq, b.Op)
	}
	rows, err := recordRows(b.Record)
	if err != nil {
		return Result{}, fmt.Errorf("write batch %d: %w", b.Seq, err)
	}
	idx := make([]int, len(rows))
	for i := range idx {
		idx[i] = i
	}
	var failed []RowError
	var notHeld []int
	if r.batch {
		failed, err = w.sendRows(ctx, b, b.Op, r, rows, idx)
	} else {
		failed, notHeld, err = w.sendEach(ctx, b, r, rows)
	}
	if errors.Is(err, errRejectLimit) {
		err = &RejectLimitError{Failed: failed}
	}
	if err != nil {
		return Result{}, fmt.Errorf("write batch %d (%s, %d rows): %w", b.Seq, b.Op, len(rows), err)
	}
	return Result{Failed: failed, NotHeld: notHeld}, nil
}

// errRejectLimit unwinds a batch's requests once Batch.Reject says stop; the
// rejections found so far travel with it and Write turns it into a
// *RejectLimitError.
var errRejectLimit = errors.New("past on_reject.max_rejected")

// errNotHeld is sendRows's answer for one row's update answered 404: the
// API does not hold the key. sendEach books the row as not held.
var errNotHeld = errors.New("update answered 404: key not held")

// stopRejecting books n rejected rows with the pipeline and reports whether
// the run is past max_rejected.
func stopRejecting(b Batch, n int) bool { return b.Reject != nil && b.Reject(n) }

// sendEach sends one request per row, as many at once as the gate allows.
// Past max_rejected it sends no more and returns the rejections found. It
// also returns the update rows answered 404 (not held).
func (w *httpWriter) sendEach(ctx context.Context, b Batch, r *opRequest, rows []map[string]any) ([]RowError, []int, error) {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(int(w.gate.max))
	failed := make([]*RowError, len(rows))
	absent := make([]bool, len(rows))
	for i, row := range rows {
		g.Go(func() error {
			if stopRejecting(b, 0) {
				return errRejectLimit
			}
			fe, err := w.sendRows(gctx, b, b.Op, r, []map[string]any{row}, []int{i})
			if len(fe) > 0 {
				failed[i] = &fe[0]
			}
			if errors.Is(err, errNotHeld) {
				absent[i], err = true, nil
			}
			return err
		})
	}
	err := g.Wait()
	var out []RowError
	for _, f := range failed {
		if f != nil {
			out = append(out, *f)
		}
	}
	var notHeld []int
	for i, a := range absent {
		if a {
			notHeld = append(notHeld, i)
		}
	}
	return out, notHeld, err
}

// sendRows sends rows (indices idx in the batch record) in one request and
// splits on a row-level rejection until the offending rows are isolated.
// With errRejectLimit it also returns the rejections found so far. op is
// what the request does: b.Op, unless a routed row was switched (see
// switchOp).
func (w *httpWriter) sendRows(ctx context.Context, b Batch, op Op, r *opRequest, rows []map[string]any, idx []int) ([]RowError, error) {
	req, err := w.buildRequest(b, r, rows)
	var pv *pathValueError
	if errors.As(err, &pv) && len(rows) == 1 {
		fe := []RowError{{Row: idx[0], Msg: pv.Error()}}
		if stopRejecting(b, 1) {
			return fe, errRejectLimit
		}
		return fe, nil
	}
	if err != nil {
		return nil, err
	}
	resp, err := w.client.Do(ctx, req)
	if err != nil {
		return nil, err
	}
	s := resp.Status
	switch {
	case s >= 200 && s < 300:
		if r.errorsPath == nil {
			return nil, nil
		}
		fe, err := w.rowErrors(resp, r.errorsPath, idx)
		if err == nil && len(fe) > 0 && stopRejecting(b, len(fe)) {
			err = errRejectLimit
		}
		return fe, err
	case len(rows) == 1 && w.switchOp(b.Op, op, s) != 0:
		to := w.switchOp(b.Op, op, s)
		fe, err := w.sendRows(ctx, b, to, w.ops[to], rows, idx)
		if errors.Is(err, errNotHeld) {
			// created by someone else, then gone by the time of our update
			fe, err = []RowError{{Row: idx[0], Status: http.StatusNotFound,
				Msg: "the create was answered 409 (exists) and the update 404 (missing): the record changed hands while it was written"}}, nil
			if stopRejecting(b, 1) {
				err = errRejectLimit
			}
		}
		return fe, err
	case op == OpInsert && s == http.StatusConflict && !w.split,
		op == OpDelete && s == http.StatusNotFound && !r.batch:
		return nil, nil
	case op == OpUpdate && s == http.StatusNotFound && !r.batch:
		return nil, errNotHeld
	case s == http.StatusBadRequest || s == http.StatusConflict || s == http.StatusRequestEntityTooLarge || s == http.StatusUnprocessableEntity:
		if len(rows) == 1 {
			body := w.client.Scrubber().Body(resp.Body)
			fe := []RowError{{Row: idx[0], Status: s, Msg: errorMessage(resp.Body, s, w.client.Scrubber()), Body: body}}
			if stopRejecting(b, 1) {
				return fe, errRejectLimit
			}
			return fe, nil
		}
		half := len(rows) / 2
		left, err := w.sendRows(ctx, b, op, r, rows[:half], idx[:half])
		if err == nil && stopRejecting(b, 0) {
			err = errRejectLimit
		}
		if err != nil {
			return left, err
		}
		right, err := w.sendRows(ctx, b, op, r, rows[half:], idx[half:])
		return append(left, right...), err
	}
	return nil, &httpkit.StatusError{Method: req.Method, URL: httpkit.RedactURL(req.URL.String()), Status: s,
		Body: w.client.Scrubber().Body(resp.Body), Attempts: resp.Attempts}
}

// switchOp says what a routed row (KindRouter) answered status is sent as
// next, or 0 to keep the answer: the snapshot said new but the API holds the
// record (an insert answered 409), or changed but the API lacks it (a
// per-row update answered 404). Either way upsert and mirror promise the row
// ends as the source has it, so it goes through the other operation, once:
// sent is the op sent so far, and a row already switched keeps its answer.
func (w *httpWriter) switchOp(batch, sent Op, status int) Op {
	if !w.split || batch != sent {
		return 0
	}
	switch {
	case sent == OpInsert && status == http.StatusConflict:
		return OpUpdate
	case sent == OpUpdate && status == http.StatusNotFound && !w.ops[OpUpdate].batch:
		return OpInsert
	}
	return 0
}

func (w *httpWriter) buildRequest(b Batch, r *opRequest, rows []map[string]any) (httpkit.Request, error) {
	data := tmplData{Sync: w.target.Sync, Object: w.target.Dest.Object, Op: r.name, Rows: rows}
	if !r.batch {
		data.Row = rows[0]
	}
	var path strings.Builder
	pathData := data
	if data.Row != nil {
		pathData.Row = escapeRow(data.Row, "")
	}
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
		body, err = marshalJSON(rows)
	case r.method != http.MethodDelete && r.method != http.MethodGet:
		body, err = marshalJSON(rows[0])
	}
	if err != nil {
		return httpkit.Request{}, fmt.Errorf("encode body of operation %s: %w", r.name, err)
	}
	h := http.Header{}
	h.Set("Idempotency-Key", idempotencyKey(w.target.Sync, r.name, r.method, u.String(), body))
	// Without errors_path nothing reads a 2xx body: do not hold megabytes of
	// it per request in flight.
	return httpkit.Request{Method: r.method, URL: u, Body: body, Header: h, Gate: w.gate, DiscardSuccessBody: r.errorsPath == nil}, nil
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

// rowErrors reads per-row errors from a 2xx body: at errorsPath either an
// array of {index, message|error, status} objects, or an array aligned with
// the request's rows where null, false or {} means the row went through.
func (w *httpWriter) rowErrors(resp *httpkit.Response, path []string, idx []int) ([]RowError, error) {
	var doc any
	if err := json.Unmarshal(resp.Body, &doc); err != nil {
		return nil, fmt.Errorf("read errors_path from a %d response: %w", resp.Status, err)
	}
	v, ok := lookupPath(doc, path)
	if !ok || v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("errors_path %s is not an array in the %d response", strings.Join(path, "."), resp.Status)
	}
	var out []RowError
	scrub := w.client.Scrubber()
	for pos, e := range list {
		i, status, msg, isErr := rowErrorEntry(e, pos)
		if !isErr {
			continue
		}
		if i < 0 || i >= len(idx) {
			return nil, fmt.Errorf("errors_path entry %d names row %d of a %d-row request", pos, i, len(idx))
		}
		if status == 0 {
			status = resp.Status
		}
		raw, _ := marshalJSON(e)
		out = append(out, RowError{Row: idx[i], Status: status, Msg: scrub.String(msg), Body: scrub.Body(raw)})
	}
	return out, nil
}

func rowErrorEntry(e any, pos int) (i, status int, msg string, isErr bool) {
	switch x := e.(type) {
	case nil:
		return 0, 0, "", false
	case bool:
		return pos, 0, "rejected", x
	case string:
		return pos, 0, x, x != ""
	case map[string]any:
		if len(x) == 0 {
			return 0, 0, "", false
		}
		i = pos
		for _, k := range []string{"index", "row", "idx"} {
			if n, ok := x[k].(float64); ok {
				i = int(n)
				break
			}
		}
		if n, ok := x["status"].(float64); ok {
			status = int(n)
		}
		for _, k := range []string{"message", "error", "detail", "reason"} {
			if s, ok := x[k].(string); ok {
				return i, status, s, true
			}
		}
		raw, _ := marshalJSON(x)
		return i, status, string(raw), true
	}
	raw, _ := marshalJSON(e)
	return pos, 0, string(raw), true
}

// lookupPath walks a dotted path through decoded JSON; numeric parts index
// arrays.
func lookupPath(doc any, path []string) (any, bool) {
	cur := doc
	for _, p := range path {
		switch x := cur.(type) {
		case map[string]any:
			v, ok := x[p]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			n, err := strconv.Atoi(p)
			if err != nil || n < 0 || n >= len(x) {
				return nil, false
			}
			cur = x[n]
		default:
			return nil, false
		}
	}
	return cur, true
}

// errorMessage picks a human message out of an error body.
func errorMessage(body []byte, status int, scrub *httpkit.Scrubber) string {
	var doc map[string]any
	if json.Unmarshal(body, &doc) == nil {
		for _, k := range []string{"message", "error", "detail", "title"} {
			if s, ok := doc[k].(string); ok && s != "" {
				return scrub.Text(s, httpkit.MaxErrorBody)
			}
		}
	}
	return fmt.Sprintf("%d %s", status, http.StatusText(status))
}
