package crmtest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"
)

func (s *Server) route(r *http.Request) reply {
	// ServeHTTP (not Handler) so that the mux fills r.PathValue.
	rec := &capture{}
	s.mux.ServeHTTP(rec, r)
	if r.Pattern != "" {
		s.mu.Lock()
		s.stats.Routes[r.Pattern]++
		s.mu.Unlock()
	}
	if rec.rep.status == 0 {
		code := rec.code
		if code == 0 {
			code = http.StatusNotFound
		}
		return reply{status: code, body: map[string]any{"error": "no such endpoint: " + r.Method + " " + r.URL.Path}}
	}
	return rec.rep
}

// capture lets mux-registered handlers hand back a reply; the mux's own
// 404 and 405 answers arrive through WriteHeader.
type capture struct {
	rep  reply
	code int
	h    http.Header
}

func (c *capture) Header() http.Header {
	if c.h == nil {
		c.h = http.Header{}
	}
	return c.h
}
func (c *capture) Write(b []byte) (int, error) { return len(b), nil }
func (c *capture) WriteHeader(code int)        { c.code = code }

func (s *Server) on(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if c, ok := w.(*capture); ok {
			c.rep = h(r)
		}
	}
}

func decode(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}

func readJSON(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, 32<<20))
	if err != nil {
		return err
	}
	return decode(b, v)
}

func bad(msg string, extra ...any) reply {
	body := map[string]any{"error": msg, "message": msg}
	for i := 0; i+1 < len(extra); i += 2 {
		body[fmt.Sprint(extra[i])] = extra[i+1]
	}
	return reply{status: http.StatusBadRequest, body: body}
}

func keyString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

// invalid says why a record cannot be stored, or "".
func (s *Server) invalid(rec map[string]any) string {
	if keyString(rec[s.cfg.KeyField]) == "" {
		return "missing " + s.cfg.KeyField
	}
	if e, ok := rec["email"]; ok && e != nil {
		str, isStr := e.(string)
		if !isStr || !emailRe.MatchString(str) {
			return fmt.Sprintf("invalid email %q", fmt.Sprint(e))
		}
	}
	if s.cfg.Validate != nil {
		return s.cfg.Validate(rec)
	}
	return ""
}

func (s *Server) batchUpsert(r *http.Request) reply {
	var recs []map[string]any
	if err := readJSON(r, &recs); err != nil {
		return bad("body must be a JSON array of objects: " + err.Error())
	}
	type rowErr struct {
		Index   int    `json:"index"`
		Message string `json:"message"`
	}
	var errs []rowErr
	for i, rec := range recs {
		if why := s.invalid(rec); why != "" {
			if !s.cfg.RowErrors {
				return bad(fmt.Sprintf("record %d: %s", i, why), "index", i)
			}
			errs = append(errs, rowErr{i, why})
		}
	}
	s.mu.Lock()
	skip := map[int]bool{}
	for _, e := range errs {
		skip[e.Index] = true
	}
	for i, rec := range recs {
		if !skip[i] {
			s.records[keyString(rec[s.cfg.KeyField])] = rec
		}
	}
	s.mu.Unlock()
	if len(errs) > 0 {
		return reply{status: http.StatusMultiStatus, body: map[string]any{"upserted": len(recs) - len(errs), "errors": errs}}
	}
	return reply{status: http.StatusOK, body: map[string]any{"upserted": len(recs)}}
}

func (s *Server) batchDelete(r *http.Request) reply {
	var recs []map[string]any
	if err := readJSON(r, &recs); err != nil {
		return bad("body must be a JSON array of key objects: " + err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, rec := range recs {
		k := keyString(rec[s.cfg.KeyField])
		if _, ok := s.records[k]; ok {
			delete(s.records, k)
			n++
		}
	}
	return reply{status: http.StatusOK, body: map[string]any{"deleted": n}}
}

// pathRecord reads a per-record body and reconciles it with the path key.
func (s *Server) pathRecord(r *http.Request) (string, map[string]any, *reply) {
	id := r.PathValue("id")
	var rec map[string]any
	if err := readJSON(r, &rec); err != nil {
		rep := bad("body must be a JSON object: " + err.Error())
		return "", nil, &rep
	}
	if k := keyString(rec[s.cfg.KeyField]); k == "" {
		rec[s.cfg.KeyField] = id
	} else if k != id {
		rep := bad(fmt.Sprintf("%s %q in body does not match %q in path", s.cfg.KeyField, k, id))
		return "", nil, &rep
	}
	if why := s.invalid(rec); why != "" {
		rep := bad(why)
		return "", nil, &rep
	}
	return id, rec, nil
}

func (s *Server) put(r *http.Request) reply {
	id, rec, rep := s.pathRecord(r)
	if rep != nil {
		return *rep
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records[id] = rec
	return reply{status: http.StatusOK, body: rec}
}

func (s *Server) patch(r *http.Request) reply {
	id, rec, rep := s.pathRecord(r)
	if rep != nil {
		return *rep
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.records[id]
	if !ok {
		return reply{status: http.StatusNotFound, body: map[string]any{"error": "no contact " + id}}
	}
	for k, v := range rec {
		cur[k] = v
	}
	return reply{status: http.StatusOK, body: cur}
}

func (s *Server) create(r *http.Request) reply {
	var rec map[string]any
	if err := readJSON(r, &rec); err != nil {
		return bad("body must be a JSON object: " + err.Error())
	}
	if why := s.invalid(rec); why != "" {
		return bad(why)
	}
	k := keyString(rec[s.cfg.KeyField])
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.records[k]; ok {
		return reply{status: http.StatusConflict, body: map[string]any{"error": "contact " + k + " exists"}}
	}
	s.records[k] = rec
	return reply{status: http.StatusCreated, body: rec}
}

func (s *Server) delete(r *http.Request) reply {
	id := r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.records[id]; !ok {
		return reply{status: http.StatusNotFound, body: map[string]any{"error": "no contact " + id}}
	}
	delete(s.records, id)
	return reply{status: http.StatusNoContent}
}

func (s *Server) get(r *http.Request) reply {
	id := r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.records[id]
	if !ok {
		return reply{status: http.StatusNotFound, body: map[string]any{"error": "no contact " + id}}
	}
	return reply{status: http.StatusOK, body: clone(rec)}
}

// position orders listings: by updated_at when asked (sort=updated_at),
// then by key, numerically when both keys are integers.
type position struct {
	T time.Time `json:"t"`
	K string    `json:"k"`
}

func (p position) less(o position) bool {
	if !p.T.Equal(o.T) {
		return p.T.Before(o.T)
	}
	a, errA := strconv.ParseInt(p.K, 10, 64)
	b, errB := strconv.ParseInt(o.K, 10, 64)
	if errA == nil && errB == nil {
		return a < b
	}
	return p.K < o.K
}

func updatedAt(rec map[string]any) (time.Time, bool) {
	s, ok := rec["updated_at"].(string)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}

// list serves GET /contacts: filter updated_since (exclusive), then one
// page chosen by page+per_page, offset+limit, or cursor+limit (the default
// style). The body is {"data": [...], "meta": {"total", "next_cursor"}} and
// a Link rel="next" header points at the next page in the same style.
func (s *Server) list(r *http.Request) reply {
	q := r.URL.Query()
	var since time.Time
	if v := q.Get("updated_since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return bad("updated_since must be RFC 3339: " + err.Error())
		}
		since = t
	}
	byTime := q.Get("sort") == "updated_at"
	size := s.cfg.PageSize
	for _, p := range []string{"limit", "per_page", "page_size"} {
		if v := q.Get(p); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 1000 {
				return bad(p + " must be between 1 and 1000")
			}
			size = n
		}
	}
	type item struct {
		pos position
		rec map[string]any
	}
	s.mu.Lock()
	items := make([]item, 0, len(s.records))
	for k, rec := range s.records {
		t, ok := updatedAt(rec)
		if !since.IsZero() && (!ok || !t.After(since)) {
			continue
		}
		p := position{K: k}
		if byTime {
			p.T = t
		}
		items = append(items, item{p, clone(rec)})
	}
	s.mu.Unlock()
	sort.Slice(items, func(i, j int) bool { return items[i].pos.less(items[j].pos) })

	start := 0
	next := url.Values{}
	for k, vs := range q {
		next[k] = vs
	}
	switch {
	case q.Has("page"):
		page, err := strconv.Atoi(q.Get("page"))
		if err != nil || page < 1 {
			return bad("page must be a positive integer")
		}
		start = (page - 1) * size
		next.Set("page", strconv.Itoa(page+1))
	case q.Has("offset"):
		off, err := strconv.Atoi(q.Get("offset"))
		if err != nil || off < 0 {
			return bad("offset must be a non-negative integer")
		}
		start = off
		next.Set("offset", strconv.Itoa(off+size))
	case q.Get("cursor") != "":
		raw, err := base64.RawURLEncoding.DecodeString(q.Get("cursor"))
		var after position
		if err == nil {
			err = json.Unmarshal(raw, &after)
		}
		if err != nil {
			return bad("bad cursor")
		}
		start = sort.Search(len(items), func(i int) bool { return after.less(items[i].pos) })
	}
	start = min(start, len(items))
	end := min(start+size, len(items))
	data := make([]map[string]any, 0, end-start)
	for _, it := range items[start:end] {
		data = append(data, it.rec)
	}
	meta := map[string]any{"total": len(items)}
	rep := reply{status: http.StatusOK, header: http.Header{}, body: map[string]any{"data": data, "meta": meta}}
	if end < len(items) {
		b, _ := json.Marshal(items[end-1].pos)
		cur := base64.RawURLEncoding.EncodeToString(b)
		meta["next_cursor"] = cur
		if !q.Has("page") && !q.Has("offset") {
			next.Set("cursor", cur)
		}
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		u := url.URL{Scheme: scheme, Host: r.Host, Path: r.URL.Path, RawQuery: next.Encode()}
		rep.header.Set("Link", fmt.Sprintf(`<%s>; rel="next"`, u.String()))
	}
	return rep
}
