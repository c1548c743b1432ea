package load

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/hoist-dev/hoist/internal/httpkit"
)

// A 2xx answer to a batch may say something per record: an error for some
// (a 207 multi-status), the record ID of each. Matching those entries to the
// request's rows by position is only right where the API promises its
// order; many do not (HubSpot names the failing records' ids in each
// error's context, in no order), so entries are matched by identity: a
// value of the row's field (its key) or its record ID, or an explicit index.

// errorMatch is a compiled HTTPErrors.
type errorMatch struct {
	path    []string
	keys    []string // path to the key value(s) an error names
	ids     []string // path to the record ID(s) an error names
	field   []string // the row field keys are compared with
	index   []string
	ordered bool
	message []string
}

func newErrorMatch(e *HTTPErrors, keyField string) *errorMatch {
	m := &errorMatch{path: splitPath(e.Path), keys: splitPath(e.Keys), ids: splitPath(e.IDs), index: splitPath(e.Index),
		ordered: e.Ordered, message: splitPath(e.Message)}
	m.field = splitPath(e.Field)
	if m.field == nil {
		m.field = splitPath(keyField)
	}
	return m
}

// resultMatch is a compiled HTTPResults.
type resultMatch struct {
	path    []string
	id      []string
	key     []string
	field   []string
	index   []string
	ordered bool
}

func newResultMatch(r *HTTPResults, keyField string) *resultMatch {
	m := &resultMatch{path: splitPath(r.Path), id: splitPath(r.ID), key: splitPath(r.Key), index: splitPath(r.Index), ordered: r.Ordered}
	if m.id == nil {
		m.id = []string{"id"}
	}
	m.field = splitPath(r.Field)
	if m.field == nil {
		m.field = splitPath(keyField)
	}
	return m
}

func splitPath(p string) []string {
	if p == "" {
		return nil
	}
	return strings.Split(p, ".")
}

// decodeBody decodes a 2xx body; numbers stay exact (json.Number), so a
// numeric key or ID matches its row's value digit for digit.
func decodeBody(resp *httpkit.Response) (any, error) {
	if len(bytes.TrimSpace(resp.Body)) == 0 {
		return nil, nil
	}
	d := json.NewDecoder(bytes.NewReader(resp.Body))
	d.UseNumber()
	var doc any
	if err := d.Decode(&doc); err != nil {
		return nil, fmt.Errorf("read the %d response: %w", resp.Status, err)
	}
	return doc, nil
}

// identText is a value's text for matching: JSON numbers and strings alike
// compare by their text ("42" names the row whose key is 42).
func identText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int64:
		return strconv.FormatInt(x, 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	case bool:
		return strconv.FormatBool(x)
	}
	b, _ := marshalJSON(v)
	return string(b)
}

// identTexts is one value or an array of them, as text.
func identTexts(v any) []string {
	if list, ok := v.([]any); ok {
		out := make([]string, 0, len(list))
		for _, x := range list {
			if t := identText(x); t != "" {
				out = append(out, t)
			}
		}
		return out
	}
	if t := identText(v); t != "" {
		return []string{t}
	}
	return nil
}

func numberOf(v any) (int, bool) {
	switch x := v.(type) {
	case json.Number:
		n, err := strconv.Atoi(x.String())
		return n, err == nil
	case float64:
		return int(x), x == float64(int(x))
	}
	return 0, false
}

// byField indexes items by the text of a field of their full row.
func byField(items []item, field []string) map[string][]int {
	out := make(map[string][]int, len(items))
	for k, it := range items {
		if v, ok := lookupPath(it.full, field); ok {
			if t := identText(v); t != "" {
				out[t] = append(out[t], k)
			}
		}
	}
	return out
}

func byID(items []item) map[string][]int {
	out := make(map[string][]int, len(items))
	for k, it := range items {
		if it.id != "" {
			out[it.id] = append(out[it.id], k)
		}
	}
	return out
}

// rowErrors reads the per-record errors of a 2xx answer to items; each
// RowError's Row is an index into items. An error that names no row of
// the request (or only rows it cannot be matched to) rejects every row not
// otherwise accounted for: the API said something failed, and which is not
// known, so none of them counts as delivered (they are sent again next run).
func (w *httpWriter) rowErrors(r *opRequest, resp *httpkit.Response, doc any, items []item) ([]RowError, error) {
	switch {
	case r.errors != nil:
		return w.matchErrors(r.errors, resp, doc, items)
	case r.errorsPath != nil:
		return w.indexErrors(r.errorsPath, resp, doc, items)
	}
	return nil, nil
}

func (w *httpWriter) matchErrors(m *errorMatch, resp *httpkit.Response, doc any, items []item) ([]RowError, error) {
	v, ok := lookupPath(doc, m.path)
	if !ok || v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("errors.path %s is not an array in the %d response", strings.Join(m.path, "."), resp.Status)
	}
	var keyed map[string][]int
	switch {
	case m.keys != nil:
		keyed = byField(items, m.field)
	case m.ids != nil:
		keyed = byID(items)
	}
	scrub := w.client.Scrubber()
	seen := map[int]bool{}
	var out []RowError
	var unmatched []any
	for pos, e := range list {
		if !isError(e) {
			continue
		}
		var rows []int
		switch {
		case keyed != nil:
			at := m.keys
			if at == nil {
				at = m.ids
			}
			if names, ok := lookupPath(e, at); ok {
				for _, t := range identTexts(names) {
					rows = append(rows, keyed[t]...)
				}
			}
		case m.index != nil:
			if x, ok := lookupPath(e, m.index); ok {
				if n, ok := numberOf(x); ok && n >= 0 && n < len(items) {
					rows = []int{n}
				}
			}
		case m.ordered:
			if pos < len(items) {
				rows = []int{pos}
			}
		}
		if len(rows) == 0 {
			unmatched = append(unmatched, e)
			continue
		}
		status, msg := errorEntry(e, m.message)
		if status == 0 {
			status = resp.Status
		}
		raw, _ := marshalJSON(e)
		for _, k := range rows {
			if !seen[k] {
				seen[k] = true
				out = append(out, RowError{Row: k, Status: status, Msg: scrub.String(msg), Body: scrub.Body(raw)})
			}
		}
	}
	if len(unmatched) > 0 {
		status, msg := errorEntry(unmatched[0], m.message)
		if status == 0 {
			status = resp.Status
		}
		raw, _ := marshalJSON(unmatched)
		w.target.Log().Warn("the API reported errors that name no row of the request; its rows not otherwise accounted for are rejected and sent again next run",
			"errors", len(unmatched), "rows", len(items)-len(seen))
		for k := range items {
			if !seen[k] {
				out = append(out, RowError{Row: k, Status: status,
					Msg:  scrub.String("the API reported an error naming no row of the request (" + msg + "); which of its rows failed is not known"),
					Body: scrub.Body(raw)})
			}
		}
	}
	return out, nil
}

// isError reports whether an entry of an errors array is an error: null,
// false, "" and {} say a row went through (aligned arrays).
func isError(e any) bool {
	switch x := e.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case map[string]any:
		return len(x) > 0
	}
	return true
}

// errorEntry reads an error's status and message.
func errorEntry(e any, message []string) (status int, msg string) {
	x, ok := e.(map[string]any)
	if !ok {
		if s, ok := e.(string); ok {
			return 0, s
		}
		if _, ok := e.(bool); ok {
			return 0, "rejected"
		}
		raw, _ := marshalJSON(e)
		return 0, string(raw)
	}
	switch v := x["status"].(type) {
	case json.Number, float64:
		status, _ = numberOf(v)
	case string:
		status, _ = strconv.Atoi(v) // HubSpot sends "error", which is no status
	}
	if message != nil {
		if v, ok := lookupPath(x, message); ok {
			return status, identText(v)
		}
	}
	for _, k := range []string{"message", "error", "detail", "reason"} {
		if s, ok := x[k].(string); ok {
			return status, s
		}
	}
	raw, _ := marshalJSON(x)
	return status, string(raw)
}

// indexErrors reads errors_path: an array of {index, message|error, status}
// objects, or an array aligned with the request's rows where null, false or
// {} means the row went through.
func (w *httpWriter) indexErrors(path []string, resp *httpkit.Response, doc any, items []item) ([]RowError, error) {
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
		if !isError(e) {
			continue
		}
		i := pos
		if x, ok := e.(map[string]any); ok {
			for _, k := range []string{"index", "row", "idx"} {
				if n, ok := numberOf(x[k]); ok {
					i = n
					break
				}
			}
		}
		if i < 0 || i >= len(items) {
			return nil, fmt.Errorf("errors_path entry %d names row %d of a %d-row request", pos, i, len(items))
		}
		status, msg := errorEntry(e, nil)
		if status == 0 {
			status = resp.Status
		}
		raw, _ := marshalJSON(e)
		out = append(out, RowError{Row: i, Status: status, Msg: scrub.String(msg), Body: scrub.Body(raw)})
	}
	return out, nil
}

// recordIDs reads the record IDs of a 2xx answer to items: the index into
// items of each row it gives an ID for.
func (w *httpWriter) recordIDs(r *opRequest, doc any, items []item) (map[int]string, error) {
	switch {
	case r.idPath != nil && len(items) == 1:
		if v, ok := lookupPath(doc, r.idPath); ok {
			if id := identText(v); id != "" {
				return map[int]string{0: id}, nil
			}
		}
		return nil, nil
	case r.results != nil:
		return matchResults(r.results, doc, items), nil
	}
	return nil, nil
}

// matchResults matches the results of a batched answer to items by the
// value naming their row, their index, or (where promised) their position;
// a result matching no row gives no ID (the row's ID stays unknown and is
// looked up when a later request needs it).
func matchResults(m *resultMatch, doc any, items []item) map[int]string {
	v, _ := lookupPath(doc, m.path)
	list, _ := v.([]any)
	var keyed map[string][]int
	if m.key != nil {
		keyed = byField(items, m.field)
	}
	out := map[int]string{}
	for pos, res := range list {
		idv, ok := lookupPath(res, m.id)
		id := identText(idv)
		if !ok || id == "" {
			continue
		}
		switch {
		case keyed != nil:
			if kv, ok := lookupPath(res, m.key); ok {
				for _, k := range keyed[identText(kv)] {
					out[k] = id
				}
			}
		case m.index != nil:
			if x, ok := lookupPath(res, m.index); ok {
				if n, ok := numberOf(x); ok && n >= 0 && n < len(items) {
					out[n] = id
				}
			}
		case m.ordered && pos < len(items):
			out[pos] = id
		}
	}
	return out
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
