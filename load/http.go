package load

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	stdsync "sync"
	"text/template"

	"golang.org/x/sync/errgroup"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/internal/httpkit"
	"github.com/hoist-dev/hoist/internal/quota"
	"github.com/hoist-dev/hoist/sync/spec"
)

// The http destination sends mapped rows to a JSON API, one request template
// per operation (see HTTPOperation):
//
//   - method: default POST for batched operations; for per-row ones PUT
//     (upsert, update), POST (insert) or DELETE (delete, archive), GET
//     (lookup).
//   - path: a text/template with .Row and .ID (per-row operations), .Sync,
//     .Object and .Op; values reach the path URL-escaped, so an id holding
//     "/" or "?" stays one path segment.
//   - body: a text/template with .Rows, .IDs and .Records (batched) or .Row
//     and .ID (per row) and a json function; when empty, the JSON array of
//     rows (batched) or the row object (per row), and no body for a per-row
//     DELETE or GET.
//
// Operations used per batch op: see routeHTTP (http_routing.go): upsert →
// upsert; insert and append → insert, or upsert when only upsert is defined;
// update → update; delete → what on_delete says (delete, archive, update
// with every field cleared, or nothing). In upsert and mirror with both
// insert and update declared, new rows go to insert and changed ones to
// update (KindRouter).
//
// Record IDs (http_ids.go): id_path (per row) and results (batched) read the
// ID an API gives a record; it is kept in state beside the key and handed to
// later requests as .ID. A request that needs an ID the state lacks asks
// operations.lookup first, or rejects the row: an ID is never guessed.
//
// Statuses: 2xx delivers the batch (minus per-record errors read at errors
// or errors_path, http_match.go); 429 and 5xx are retried; 400, 409, 413 and
// 422 reject rows: a batch is split in halves until the offending rows stand
// alone; any other 4xx (401, 403, 404 …) is a configuration problem and
// fails the batch. An insert answered 409 and a delete answered 404 count as
// done: the key already exists, or is already gone, which is what those
// operations allow (a routed insert answered 409 is sent as an update
// instead). A per-row update answered 404 is not held (Result.NotHeld): the
// API lacks the key and the update left it alone (a routed one is sent as an
// insert). A batched update cannot say which of its rows found their key, so
// a 2xx counts every row delivered.

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
	name   string
	method string
	path   *template.Template
	body   *template.Template // nil: default JSON body
	batch  bool
	// usesID: the path or body needs the rows' record IDs (.ID, .IDs,
	// .Records), so a row whose ID is unknown is looked up first.
	usesID bool
	// what the 2xx body is read for (nil: not read)
	errorsPath []string // errors_path: by index field or position
	errors     *errorMatch
	idPath     []string // per row: the record ID
	results    *resultMatch
}

// readsBody reports whether a 2xx body is read.
func (r *opRequest) readsBody() bool {
	return r.errorsPath != nil || r.errors != nil || r.idPath != nil || r.results != nil
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
	keyField := ""
	if len(t.Dest.PrimaryKey) == 1 {
		keyField = t.Dest.PrimaryKey[0]
	}
	compiled := map[string]*opRequest{}
	for name, o := range cfg.Operations {
		if o == nil {
			continue
		}
		r, err := compileOp(name, o, keyField)
		if err != nil {
			return nil, fmt.Errorf("http destination %s: operations.%s: %w", d.name, name, err)
		}
		compiled[name] = r
	}
	app := cfg.AppDest.Resolved(httpAppRules)
	client := d.client.WithLogger(t.Log())
	var budget *quota.Budget
	if b := d.conn.DailyBudget; b != nil && !t.DryRun {
		budget = quota.Shared(b.Quota(d.name, d.conn.Address()), t.Ledger)
		budget.Acquire()
		client = client.WithBudget(budget)
	}
	w := &httpWriter{
		client: client,
		budget: budget,
		target: t,
		ops:    map[Op]*opRequest{},
		gate:   newAIMD(d.conn.MaxConcurrency),
		app:    app,
		lookup: compiled[opLookup],
		keys:   t.Dest.PrimaryKey,
	}
	w.slots = httpkit.SharedSlots(d.name, d.conn, int(w.gate.max))
	routes := routeHTTP(t.Dest.Mode, func(n string) bool { return compiled[n] != nil }, app.OnDelete)
	if routes.missing != "" {
		w.release(ctx)
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
	w.ignoreDeletes = t.Dest.Mode == spec.ModeMirror && app.OnDelete == connector.DeleteIgnore
	w.clearDeletes = t.Dest.Mode == spec.ModeMirror && app.OnDelete == connector.DeleteClear
	for _, r := range compiled {
		if r.idPath != nil || r.results != nil || r.usesID {
			w.needs.IDs = true
		}
	}
	w.needs.Changed = app.Patch == connector.PatchChanged
	return w, nil
}

func compileOp(name string, o *HTTPOperation, keyField string) (*opRequest, error) {
	r := &opRequest{name: name, method: httpMethod(name, o), batch: o.Batch}
	var err error
	if r.path, err = template.New("path").Funcs(tmplFuncs).Option("missingkey=error").Parse(o.Path); err != nil {
		return nil, fmt.Errorf("path template: %w", err)
	}
	r.usesID = usesRecordID(r.path)
	if o.Body != "" {
		if r.body, err = template.New("body").Funcs(tmplFuncs).Option("missingkey=error").Parse(o.Body); err != nil {
			return nil, fmt.Errorf("body template: %w", err)
		}
		r.usesID = r.usesID || usesRecordID(r.body)
	}
	if name == opLookup {
		r.usesID = false // it finds the ID
	}
	if o.ErrorsPath != "" {
		r.errorsPath = splitPath(o.ErrorsPath)
	}
	if o.Errors != nil {
		r.errors = newErrorMatch(o.Errors, keyField)
	}
	if o.IDPath != "" {
		r.idPath = splitPath(o.IDPath)
	}
	if o.Results != nil {
		r.results = newResultMatch(o.Results, keyField)
	}
	return r, nil
}

func httpMethod(name string, o *HTTPOperation) string {
	if o.Method != "" {
		return strings.ToUpper(o.Method)
	}
	switch {
	case o.Batch:
		return http.MethodPost
	case name == "delete" || name == opArchive:
		return http.MethodDelete
	case name == opLookup:
		return http.MethodGet
	case name == "insert":
		return http.MethodPost
	}
	return http.MethodPut
}

// httpWriter writes one run of one sync. Writes run concurrently; every
// attempt goes through the AIMD gate and the connection's limiter.
type httpWriter struct {
	client *httpkit.Client
	target Target
	ops    map[Op]*opRequest
	gate   *aimd
	// slots caps the requests in flight to the connection across every
	// writer of the process (syncs run in parallel): see connGate.
	slots  *httpkit.Slots
	app    connector.AppDest // resolved: every key set
	lookup *opRequest        // operations.lookup, or nil
	keys   []string          // the primary key's fields
	needs  BatchNeeds
	// split: rows new to the snapshot come as OpInsert and changed ones as
	// OpUpdate (see KindRouter); a row the snapshot was wrong about is sent
	// through the other operation (switchOp).
	split bool
	// mirror's on_delete: ignore acknowledges deletes unsent; clear sends
	// them through the update operation with every field emptied.
	ignoreDeletes, clearDeletes bool
	// budget is the connection's daily request budget, or nil; the writer
	// gives back what it was granted and did not send when it finishes.
	budget   *quota.Budget
	released stdsync.Once
}

// release ends the writer's use of the daily budget.
func (w *httpWriter) release(ctx context.Context) error {
	var err error
	w.released.Do(func() {
		if w.budget != nil {
			err = w.budget.Release(context.WithoutCancel(ctx))
		}
	})
	return err
}

var (
	_ Writer     = (*httpWriter)(nil)
	_ KindRouter = (*httpWriter)(nil)
	_ Needer     = (*httpWriter)(nil)
)

// RoutesByKind implements KindRouter.
func (w *httpWriter) RoutesByKind() bool { return w.split }

// BatchNeeds implements Needer: record IDs when an operation reads or uses
// them, changed fields for patch: changed.
func (w *httpWriter) BatchNeeds() BatchNeeds { return w.needs }

// Concurrency is 0: the pipeline may run as many Writes as it likes, the
// adaptive gate decides how many requests are actually in flight.
func (w *httpWriter) Concurrency() int { return 0 }

// Commit and Abort only give back the unsent daily budget: every
// acknowledged request is final.
func (w *httpWriter) Commit(ctx context.Context) error { return w.release(ctx) }
func (w *httpWriter) Abort(ctx context.Context) error  { return w.release(ctx) }

// item is one row on its way: its index in the batch, the full mapped row
// (paths and matching read it), the body sent for it (patch and nulls
// applied), and its record ID ("" unknown).
type item struct {
	i    int
	full map[string]any
	body map[string]any
	id   string
}

// outcome collects what a batch's requests said about its rows; requests
// of one batch run concurrently (per-row operations), hence the lock.
type outcome struct {
	mu      stdsync.Mutex
	b       Batch
	failed  []RowError
	notHeld []int
	ids     []string // learnt record IDs, by row (nil: none kept)
}

// reject books a rejected row and reports whether the run is now past
// max_rejected.
func (o *outcome) reject(it item, status int, msg, body string) bool {
	o.mu.Lock()
	o.failed = append(o.failed, RowError{Row: it.i, Status: status, Msg: msg, Body: body})
	o.mu.Unlock()
	return stopRejecting(o.b, 1)
}

func (o *outcome) absent(it item) {
	o.mu.Lock()
	o.notHeld = append(o.notHeld, it.i)
	o.mu.Unlock()
}

func (o *outcome) learn(it item, id string) {
	if o.ids == nil || id == "" {
		return
	}
	o.mu.Lock()
	o.ids[it.i] = id
	o.mu.Unlock()
}

func (w *httpWriter) Write(ctx context.Context, b Batch) (Result, error) {
	if b.Op == OpDelete && w.ignoreDeletes {
		return Result{}, nil // on_delete: ignore: the record stays, the key is forgotten
	}
	r := w.ops[b.Op]
	if r == nil {
		return Result{}, fmt.Errorf("write batch %d: no http operation for %s", b.Seq, b.Op)
	}
	items, err := w.items(b)
	if err != nil {
		return Result{}, fmt.Errorf("write batch %d: %w", b.Seq, err)
	}
	out := &outcome{b: b}
	if w.needs.IDs {
		out.ids = make([]string, len(items))
	}
	if r.batch {
		err = w.sendRows(ctx, b, b.Op, r, items, out)
	} else {
		err = w.sendEach(ctx, b, r, items, out)
	}
	if errors.Is(err, errRejectLimit) {
		err = &RejectLimitError{Failed: out.failed}
	}
	if err != nil {
		return Result{}, fmt.Errorf("write batch %d (%s, %d rows): %w", b.Seq, b.Op, len(items), err)
	}
	// concurrent requests booked in their own order: give rows in order
	slices.SortFunc(out.failed, func(a, b RowError) int { return a.Row - b.Row })
	slices.Sort(out.notHeld)
	res := Result{Failed: out.failed, NotHeld: out.notHeld, IDs: out.ids}
	for _, id := range out.ids {
		if id != "" {
			return res, nil
		}
	}
	res.IDs = nil
	return res, nil
}

// items turns the batch's rows into items: full rows, the bodies patch and
// nulls make of them, and their record IDs.
func (w *httpWriter) items(b Batch) ([]item, error) {
	rows, err := recordRows(b.Record)
	if err != nil {
		return nil, err
	}
	sh := w.shaper(b)
	items := make([]item, len(rows))
	for i, row := range rows {
		items[i] = item{i: i, full: row, body: row}
		if i < len(b.IDs) {
			items[i].id = b.IDs[i]
		}
		if sh != nil {
			var changed []int
			if i < len(b.Changed) {
				changed = b.Changed[i]
			}
			if items[i].body, err = sh.shape(row, changed); err != nil {
				return nil, fmt.Errorf("row %d: %w", i, err)
			}
		}
	}
	return items, nil
}

// errRejectLimit unwinds a batch's requests once Batch.Reject says stop; the
// rejections found so far travel with it and Write turns it into a
// *RejectLimitError.
var errRejectLimit = errors.New("past on_reject.max_rejected")

// stopRejecting books n rejected rows with the pipeline and reports whether
// the run is past max_rejected.
func stopRejecting(b Batch, n int) bool { return b.Reject != nil && b.Reject(n) }

// sendEach sends one request per row, as many at once as the gate allows.
// Past max_rejected it sends no more.
func (w *httpWriter) sendEach(ctx context.Context, b Batch, r *opRequest, items []item, out *outcome) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(int(w.gate.max))
	for _, it := range items {
		g.Go(func() error {
			if stopRejecting(b, 0) {
				return errRejectLimit
			}
			return w.sendRows(gctx, b, b.Op, r, []item{it}, out)
		})
	}
	return g.Wait()
}

// sendRows sends items in one request and splits on a row-level rejection
// until the offending rows are isolated; it books every row's outcome in
// out. op is what the request does: b.Op, unless a routed row was switched
// (see switchOp). It returns errRejectLimit once the run is past
// max_rejected.
func (w *httpWriter) sendRows(ctx context.Context, b Batch, op Op, r *opRequest, items []item, out *outcome) error {
	if r.usesID {
		var err error
		if items, err = w.resolveIDs(ctx, b, op, r, items, out); err != nil || len(items) == 0 {
			return err
		}
	}
	req, err := w.buildRequest(r, items)
	var pv *pathValueError
	if errors.As(err, &pv) && len(items) == 1 {
		if out.reject(items[0], 0, pv.Error(), "") {
			return errRejectLimit
		}
		return nil
	}
	if err != nil {
		return err
	}
	resp, err := w.client.Do(ctx, req)
	if err != nil {
		return err
	}
	s := resp.Status
	single := len(items) == 1
	switch {
	case s >= 200 && s < 300:
		return w.delivered(r, resp, items, out)
	case single && w.switchOp(b.Op, op, s) != 0:
		to := w.switchOp(b.Op, op, s)
		return w.sendRows(ctx, b, to, w.ops[to], items, out)
	case op == OpInsert && s == http.StatusConflict && !w.split,
		op == OpDelete && s == http.StatusNotFound && !r.batch:
		return nil
	case op == OpUpdate && s == http.StatusNotFound && !r.batch:
		return w.notHeld(b, items[0], out)
	case s == http.StatusBadRequest || s == http.StatusConflict || s == http.StatusRequestEntityTooLarge || s == http.StatusUnprocessableEntity:
		if single {
			if out.reject(items[0], s, errorMessage(resp.Body, s, w.client.Scrubber()), w.client.Scrubber().Body(resp.Body)) {
				return errRejectLimit
			}
			return nil
		}
		half := len(items) / 2
		err := w.sendRows(ctx, b, op, r, items[:half], out)
		if err == nil && stopRejecting(b, 0) {
			err = errRejectLimit
		}
		if err != nil {
			return err
		}
		return w.sendRows(ctx, b, op, r, items[half:], out)
	}
	return &httpkit.StatusError{Method: req.Method, URL: httpkit.RedactURL(req.URL.String()), Status: s,
		Body: w.client.Scrubber().Body(resp.Body), Attempts: resp.Attempts}
}

// notHeld books an update whose record the API lacks: not held in an
// update batch; in a batch the row was switched into (a routed insert
// answered 409, then its update 404) the record came and went while it was
// written, and the row is rejected, to be sent again by the next run.
func (w *httpWriter) notHeld(b Batch, it item, out *outcome) error {
	if b.Op == OpUpdate {
		out.absent(it)
		return nil
	}
	if out.reject(it, http.StatusNotFound, "the create was answered 409 (exists) and the update 404 (missing): the record changed hands while it was written", "") {
		return errRejectLimit
	}
	return nil
}

// delivered books a 2xx answer: per-record errors reject their rows, record
// IDs are learnt, every other row is delivered.
func (w *httpWriter) delivered(r *opRequest, resp *httpkit.Response, items []item, out *outcome) error {
	if !r.readsBody() {
		return nil
	}
	doc, err := decodeBody(resp)
	if err != nil {
		return err
	}
	bad, err := w.rowErrors(r, resp, doc, items)
	if err != nil {
		return err
	}
	stop := false
	for _, fe := range bad {
		if out.reject(items[fe.Row], fe.Status, fe.Msg, fe.Body) {
			stop = true
		}
	}
	failed := map[int]bool{}
	for _, fe := range bad {
		failed[fe.Row] = true
	}
	ids, err := w.recordIDs(r, doc, items)
	if err != nil {
		return err
	}
	for k, id := range ids {
		if !failed[k] {
			out.learn(items[k], id)
		}
	}
	if stop {
		return errRejectLimit
	}
	return nil
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

// httpBatch is an HTTP API's batch: one request per row, or with batch:
// true one request for the whole batch, and APIs cap the records a batch
// request may carry (HubSpot 100, Salesforce collections 200) — 100 fits
// the common maximum. batch_size overrides it.
var httpBatch = BatchLimits{Rows: 100}

// BatchLimits implements BatchSizer.
func (w *httpWriter) BatchLimits() BatchLimits { return httpBatch }
