package load

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/internal/httpkit"
	"github.com/hoist-dev/hoist/internal/quota"
)

// hsBatchLimit is HubSpot's most inputs in one batch request.
const hsBatchLimit = 100

// hsInput is one input of a batch request; row is its row in the batch.
type hsInput struct {
	ID         string            `json:"id"`
	IDProperty string            `json:"idProperty,omitempty"`
	TraceID    string            `json:"objectWriteTraceId,omitempty"`
	Properties map[string]string `json:"properties"`
	row        int
	key        string // the id_property's value
}

// hsAnswer is what a batch answer holds (BatchResponseSimplePublicObject,
// …WithErrors, or an error body).
type hsAnswer struct {
	Results []struct {
		ID         string            `json:"id"`
		TraceID    string            `json:"objectWriteTraceId"`
		Properties map[string]string `json:"properties"`
	} `json:"results"`
	Errors []hsError `json:"errors"`
	hsError
}

type hsError struct {
	Category string              `json:"category"`
	Message  string              `json:"message"`
	Context  map[string][]string `json:"context"`
	// 429 bodies
	PolicyName string `json:"policyName"`
}

func decodeInto(body []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(body))
	return d.Decode(v)
}

func (w *hubspotWriter) Write(ctx context.Context, b Batch) (Result, error) {
	if w.target.DryRun {
		return Result{}, fmt.Errorf("write batch %d: the destination was opened to check it only", b.Seq)
	}
	out := &outcome{b: b, ids: make([]string, b.Record.NumRows())}
	var err error
	switch {
	case b.Op == OpDelete && w.app.OnDelete == connector.DeleteIgnore:
		return Result{}, nil // the record stays; the key is forgotten
	case b.Op == OpDelete && w.app.OnDelete == connector.DeleteClear:
		err = w.send(ctx, b, "batch/update", w.clearInputs(b, out), out)
	case b.Op == OpDelete:
		err = w.archive(ctx, b, out)
	case b.Op == OpUpdate && w.target.Dest.Mode == "update":
		err = w.send(ctx, b, "batch/update", w.writeInputs(b, out, true), out)
	default: // new and changed rows (a KindRouter would split them; this writer upserts both)
		err = w.send(ctx, b, "batch/upsert", w.writeInputs(b, out, false), out)
	}
	if errors.Is(err, errRejectLimit) {
		err = &RejectLimitError{Failed: out.failed}
	}
	if err != nil {
		return Result{}, fmt.Errorf("write batch %d (%s, %d rows) to %s: %w", b.Seq, b.Op, b.Record.NumRows(), w.object, err)
	}
	slices.SortFunc(out.failed, func(a, b RowError) int { return a.Row - b.Row })
	slices.Sort(out.notHeld)
	res := Result{Failed: out.failed, NotHeld: out.notHeld, IDs: out.ids}
	if !slices.ContainsFunc(out.ids, func(s string) bool { return s != "" }) {
		res.IDs = nil
	}
	return res, nil
}

// keyOf formats row i's id_property value, rejecting the row when it has
// none.
func (w *hubspotWriter) keyOf(rec arrow.RecordBatch, i int, out *outcome) (string, bool) {
	col := rec.Column(rec.Schema().FieldIndices(w.idProperty)[0])
	v, null, err := hsValue(col, i, w.props[w.idProperty])
	switch {
	case err != nil:
		out.reject(item{i: i}, 0, err.Error(), "")
	case null || v == "":
		out.reject(item{i: i}, 0, fmt.Sprintf("id_property %s is NULL or empty: the record cannot be addressed", w.idProperty), "")
	default:
		return v, true
	}
	return "", false
}

// writeInputs makes the batch's inputs for batch/upsert, or batch/update
// (byID: by record ID where the state has it): each row's properties,
// formatted, with patch and nulls applied; a row whose value does not fit
// its property is rejected here, unsent.
func (w *hubspotWriter) writeInputs(b Batch, out *outcome, byID bool) []hsInput {
	rec := b.Record
	fields := rec.Schema().Fields()
	var ins []hsInput
	for i := 0; i < int(rec.NumRows()); i++ {
		key, ok := w.keyOf(rec, i, out)
		if !ok {
			continue
		}
		var changed []int
		if w.app.Patch == connector.PatchChanged && i < len(b.Changed) {
			changed = b.Changed[i]
		}
		props := map[string]string{}
		bad := ""
		for c, f := range fields {
			if f.Name == w.idProperty || (changed != nil && !slices.Contains(changed, c)) {
				continue
			}
			v, null, err := hsValue(rec.Column(c), i, w.props[f.Name])
			if err != nil {
				bad = fmt.Sprintf("field %s: %v", f.Name, err)
				break
			}
			if null {
				if w.app.Nulls == connector.NullsSkip {
					continue
				}
				v = "" // clear: HubSpot's way to empty a property
			}
			props[f.Name] = v
		}
		if bad != "" {
			out.reject(item{i: i}, 0, bad, "")
			continue
		}
		in := hsInput{ID: key, IDProperty: w.idProperty, TraceID: strconv.Itoa(i), Properties: props, row: i, key: key}
		if byID && i < len(b.IDs) && b.IDs[i] != "" {
			in.ID, in.IDProperty = b.IDs[i], ""
		}
		ins = append(ins, in)
	}
	return ins
}

// clearInputs makes on_delete: clear's updates: every mapped property but
// the id_property emptied.
func (w *hubspotWriter) clearInputs(b Batch, out *outcome) []hsInput {
	var ins []hsInput
	for i := 0; i < int(b.Record.NumRows()); i++ {
		key, ok := w.keyOf(b.Record, i, out)
		if !ok {
			continue
		}
		props := map[string]string{}
		for _, f := range w.target.Schema.Fields() {
			if f.Name != w.idProperty {
				props[f.Name] = ""
			}
		}
		ins = append(ins, hsInput{ID: key, IDProperty: w.idProperty, TraceID: strconv.Itoa(i), Properties: props, row: i, key: key})
	}
	return ins
}

// reserve sets aside the daily budget's requests for one batch before any
// is sent (see quota.Reserve): a batch is sent whole or not at all, and the
// run stops between batches when the budget cannot cover the next.
func (w *hubspotWriter) reserve(ctx context.Context, requests int) (context.Context, func(), error) {
	r, err := w.budget.Reserve(ctx, requests)
	if err != nil {
		return ctx, func() {}, err
	}
	return quota.WithReservation(ctx, r), r.Release, nil
}

// requests is how many requests of at most 100 inputs n inputs take.
func requests(n int) int { return (n + hsBatchLimit - 1) / hsBatchLimit }

// send writes inputs with endpoint in requests of at most 100, as many at
// once as the gate allows, booking every row in out.
func (w *hubspotWriter) send(ctx context.Context, b Batch, endpoint string, ins []hsInput, out *outcome) error {
	ctx, release, err := w.reserve(ctx, requests(len(ins)))
	if err != nil {
		return err
	}
	defer release()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(int(w.gate.max))
	for start := 0; start < len(ins); start += hsBatchLimit {
		chunk := ins[start:min(start+hsBatchLimit, len(ins))]
		g.Go(func() error {
			if stopRejecting(b, 0) {
				return errRejectLimit
			}
			return w.sendChunk(gctx, b, endpoint, chunk, out)
		})
	}
	return g.Wait()
}

// sendChunk sends one request and books its answer. A 207 names its failed
// records' ids in each error's context; a 400 that names them is resent
// without them, one that does not is split in halves until the offending
// records stand alone.
func (w *hubspotWriter) sendChunk(ctx context.Context, b Batch, endpoint string, ins []hsInput, out *outcome) error {
	if len(ins) == 0 {
		return nil
	}
	resp, err := w.post(ctx, endpoint, map[string]any{"inputs": ins})
	if err != nil {
		return err
	}
	var ans hsAnswer
	if len(resp.Body) > 0 {
		if err := decodeInto(resp.Body, &ans); err != nil && resp.Status < 300 {
			return fmt.Errorf("read HubSpot's %d answer to %s: %w", resp.Status, endpoint, err)
		}
	}
	scrub := w.client.Scrubber()
	switch s := resp.Status; {
	case s == http.StatusOK || s == http.StatusMultiStatus:
		return w.book(b, endpoint, ins, &ans, s, scrub.Body(resp.Body), out)
	case s == http.StatusBadRequest || s == http.StatusConflict || s == http.StatusUnprocessableEntity:
		named := w.named(ins, ans.Context["ids"])
		if len(named) > 0 && len(named) < len(ins) {
			var rest []hsInput
			for k, in := range ins {
				if named[k] {
					if out.reject(item{i: in.row}, s, scrub.String(ans.Message), scrub.Body(resp.Body)) {
						return errRejectLimit
					}
				} else {
					rest = append(rest, in)
				}
			}
			return w.sendChunk(ctx, b, endpoint, rest, out)
		}
		if len(ins) == 1 || len(named) == len(ins) {
			for _, in := range ins {
				if out.reject(item{i: in.row}, s, scrub.String(ans.Message), scrub.Body(resp.Body)) {
					return errRejectLimit
				}
			}
			return nil
		}
		half := len(ins) / 2
		if err := w.sendChunk(ctx, b, endpoint, ins[:half], out); err != nil {
			return err
		}
		return w.sendChunk(ctx, b, endpoint, ins[half:], out)
	}
	return &httpkit.StatusError{Method: http.MethodPost, URL: w.base + "/" + endpoint, Status: resp.Status,
		Body: scrub.Body(resp.Body), Attempts: resp.Attempts}
}

// book books a 200 or 207: results (matched by objectWriteTraceId, else by
// the id_property's value) are delivered and give record IDs; each error
// rejects the records its context names (an update of a record HubSpot
// lacks is not held, in mode update); a record neither accounts for is
// rejected, never counted delivered.
func (w *hubspotWriter) book(b Batch, endpoint string, ins []hsInput, ans *hsAnswer, status int, body string, out *outcome) error {
	byTrace := make(map[string]int, len(ins))
	byKey := make(map[string]int, len(ins))
	for k, in := range ins {
		byTrace[in.TraceID] = k
		byKey[strings.ToLower(in.ID)] = k
		byKey[strings.ToLower(in.key)] = k
	}
	done := make([]bool, len(ins))
	for _, r := range ans.Results {
		k, ok := byTrace[r.TraceID]
		if !ok || r.TraceID == "" {
			k, ok = byKey[strings.ToLower(r.Properties[w.idProperty])]
		}
		if !ok || done[k] {
			continue
		}
		done[k] = true
		out.learn(item{i: ins[k].row}, r.ID)
	}
	scrub := w.client.Scrubber()
	stop := false
	unnamed := ""
	for _, e := range ans.Errors {
		named := w.named(ins, e.Context["ids"])
		if len(named) == 0 {
			unnamed = e.Message
			continue
		}
		for k := range named {
			if done[k] {
				continue
			}
			done[k] = true
			switch {
			case e.Category == "OBJECT_NOT_FOUND" && b.Op == OpUpdate && w.target.Dest.Mode == "update":
				out.absent(item{i: ins[k].row})
			case e.Category == "OBJECT_NOT_FOUND" && b.Op == OpDelete:
				// on_delete: clear of a record already gone: nothing to clear
			default:
				if out.reject(item{i: ins[k].row}, status, scrub.String(e.Message), body) {
					stop = true
				}
			}
		}
	}
	for k, in := range ins {
		if done[k] {
			continue
		}
		if b.Op == OpDelete && len(ans.Results) == 0 && len(ans.Errors) == 0 {
			continue
		}
		msg := "HubSpot's answer gave neither a result nor an error for this record; it is sent again next run"
		if unnamed != "" {
			msg = "HubSpot reported an error naming no record (" + scrub.String(unnamed) + "); which records failed is not known, so this one is sent again next run"
		}
		if out.reject(item{i: in.row}, status, msg, body) {
			stop = true
		}
	}
	if stop {
		return errRejectLimit
	}
	return nil
}

// named returns the inputs (by index) whose id, or id_property value, an
// error's ids name; HubSpot compares emails without case.
func (w *hubspotWriter) named(ins []hsInput, ids []string) map[int]bool {
	if len(ids) == 0 {
		return nil
	}
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[strings.ToLower(id)] = true
	}
	out := map[int]bool{}
	for k, in := range ins {
		if want[strings.ToLower(in.ID)] || want[strings.ToLower(in.key)] {
			out[k] = true
		}
	}
	return out
}

// archive archives the batch's records by record ID: the state's, else
// found by id_property with batch/read (a record it does not find is
// already gone: done).
func (w *hubspotWriter) archive(ctx context.Context, b Batch, out *outcome) error {
	type rec struct {
		row     int
		key, id string
	}
	var recs []rec
	var unknown []rec
	for i := 0; i < int(b.Record.NumRows()); i++ {
		r := rec{row: i}
		if i < len(b.IDs) {
			r.id = b.IDs[i]
		}
		if r.id == "" {
			key, ok := w.keyOf(b.Record, i, out)
			if !ok {
				continue
			}
			r.key = key
			unknown = append(unknown, r)
			continue
		}
		recs = append(recs, r)
	}
	// the lookups and the archives (at most as many as the rows)
	ctx, release, err := w.reserve(ctx, requests(len(unknown))+requests(len(recs)+len(unknown)))
	if err != nil {
		return err
	}
	defer release()
	for start := 0; start < len(unknown); start += hsBatchLimit {
		chunk := unknown[start:min(start+hsBatchLimit, len(unknown))]
		inputs := make([]map[string]string, len(chunk))
		for k, r := range chunk {
			inputs[k] = map[string]string{"id": r.key}
		}
		resp, err := w.post(ctx, "batch/read", map[string]any{"idProperty": w.idProperty, "inputs": inputs,
			"properties": []string{w.idProperty}, "propertiesWithHistory": []string{}})
		if err != nil {
			return err
		}
		if resp.Status != http.StatusOK && resp.Status != http.StatusMultiStatus {
			return &httpkit.StatusError{Method: http.MethodPost, URL: w.base + "/batch/read", Status: resp.Status,
				Body: w.client.Scrubber().Body(resp.Body), Attempts: resp.Attempts}
		}
		var ans hsAnswer
		if err := decodeInto(resp.Body, &ans); err != nil {
			return fmt.Errorf("read HubSpot's answer to batch/read: %w", err)
		}
		found := map[string]string{}
		for _, r := range ans.Results {
			found[strings.ToLower(r.Properties[w.idProperty])] = r.ID
		}
		for _, r := range chunk {
			if id := found[strings.ToLower(r.key)]; id != "" {
				r.id = id
				recs = append(recs, r)
			}
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(int(w.gate.max))
	for start := 0; start < len(recs); start += hsBatchLimit {
		chunk := recs[start:min(start+hsBatchLimit, len(recs))]
		g.Go(func() error {
			inputs := make([]map[string]string, len(chunk))
			for k, r := range chunk {
				inputs[k] = map[string]string{"id": r.id}
			}
			resp, err := w.post(gctx, "batch/archive", map[string]any{"inputs": inputs})
			if err != nil {
				return err
			}
			switch s := resp.Status; {
			case s == http.StatusNoContent || s == http.StatusOK:
				return nil
			case s == http.StatusBadRequest:
				msg := errorMessage(resp.Body, s, w.client.Scrubber())
				for _, r := range chunk {
					if out.reject(item{i: r.row}, s, msg, w.client.Scrubber().Body(resp.Body)) {
						return errRejectLimit
					}
				}
				return nil
			}
			return &httpkit.StatusError{Method: http.MethodPost, URL: w.base + "/batch/archive", Status: resp.Status,
				Body: w.client.Scrubber().Body(resp.Body), Attempts: resp.Attempts}
		})
	}
	return g.Wait()
}

// post sends one request to the object's batch API.
func (w *hubspotWriter) post(ctx context.Context, endpoint string, body any) (*httpkit.Response, error) {
	data, err := marshalJSON(body)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", endpoint, err)
	}
	u, err := w.client.Resolve(w.base + "/" + endpoint)
	if err != nil {
		return nil, err
	}
	req := httpkit.Request{Method: http.MethodPost, URL: u, Body: data, Gate: w.gate, Classify: w.classify}
	if w.adaptiveTimeout {
		req.Timeout = w.timeout
	}
	resp, err := w.client.Do(ctx, req)
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// Without a timeout in the connection, a batch request's timeout follows
// HubSpot's own latency: hsTimeoutFactor × the best mean latency seen,
// between hsTimeoutMin and the default 30s. A request HubSpot accepted and
// never answers then costs seconds, not half a minute: at the end of a
// run, the last such request's timeout is the run's tail (bench-hubspot's
// fault mix: 30s of a 55s run). A slow answer cut short is sent again,
// which batch/upsert, update and archive take without harm.
const (
	hsTimeoutFactor = 20
	hsTimeoutMin    = 5 * time.Second
	hsTimeoutMax    = httpkit.DefaultHTTPTimeout
)

func (w *hubspotWriter) timeout() time.Duration {
	b := w.gate.Baseline()
	if b == 0 {
		return hsTimeoutMax
	}
	return min(max(hsTimeoutFactor*b, hsTimeoutMin), hsTimeoutMax)
}

// classify tells HubSpot's two 429s apart: the ten-secondly limit is waited
// out (a second; the window paces the rest), the daily one ends the run's
// requests: no retry can help until tomorrow.
func (w *hubspotWriter) classify(status int, _ http.Header, body []byte) (time.Duration, error) {
	if status != http.StatusTooManyRequests {
		return 0, nil
	}
	var e hsError
	_ = json.Unmarshal(body, &e)
	switch strings.ToUpper(e.PolicyName) {
	case "DAILY":
		why := "HubSpot answered 429: the account's daily request limit is reached (policy DAILY); it resets at midnight in the account's time zone"
		if w.budget != nil {
			return 0, w.budget.Exhaust(why)
		}
		return 0, fmt.Errorf("%w: %s", quota.ErrSpent, why)
	case "TEN_SECONDLY_ROLLING", "SECONDLY", "":
		return time.Second, nil
	}
	return time.Second, nil
}
