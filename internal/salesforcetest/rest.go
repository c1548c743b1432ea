package salesforcetest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
)

// limits is GET /limits: the org's limits with Max and Remaining.
func (s *Server) limits(w http.ResponseWriter, r *http.Request) {
	s.count("limits")
	s.mu.Lock()
	used, batches := s.stats.Requests, s.bulkBatches
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]map[string]int{
		"DailyApiRequests":     {"Max": s.cfg.DailyAPIRequests, "Remaining": max(s.cfg.DailyAPIRequests-used, 0)},
		"DailyBulkApiBatches":  {"Max": s.cfg.DailyBulkBatches, "Remaining": max(s.cfg.DailyBulkBatches-batches, 0)},
		"DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
	})
}

// describe is GET /sobjects/{name}/describe.
func (s *Server) describe(w http.ResponseWriter, r *http.Request, name string) {
	s.count("describe")
	s.mu.Lock()
	o := s.objects[strings.ToLower(name)]
	s.mu.Unlock()
	if o == nil {
		s.fail(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	type pick struct {
		Value  string `json:"value"`
		Label  string `json:"label"`
		Active bool   `json:"active"`
	}
	type field struct {
		Name               string `json:"name"`
		Type               string `json:"type"`
		Length             int    `json:"length"`
		Createable         bool   `json:"createable"`
		Updateable         bool   `json:"updateable"`
		Nillable           bool   `json:"nillable"`
		ExternalID         bool   `json:"externalId"`
		IDLookup           bool   `json:"idLookup"`
		Unique             bool   `json:"unique"`
		RestrictedPicklist bool   `json:"restrictedPicklist"`
		PicklistValues     []pick `json:"picklistValues"`
	}
	fields := []field{{Name: "Id", Type: "id", Length: 18, IDLookup: true, PicklistValues: []pick{}}}
	for _, f := range o.def.Fields {
		df := field{Name: f.Name, Type: f.Type, Length: f.Length, Createable: !f.ReadOnly, Updateable: !f.ReadOnly && !f.CreateOnly,
			Nillable: !f.Required, ExternalID: f.ExternalID, IDLookup: f.ExternalID, Unique: f.ExternalID, RestrictedPicklist: f.Restricted, PicklistValues: []pick{}}
		if df.Length == 0 && isText(f.Type) {
			df.Length = 255
		}
		for _, v := range f.Picklist {
			df.PicklistValues = append(df.PicklistValues, pick{Value: v, Label: v, Active: true})
		}
		fields = append(fields, df)
	}
	for _, sys := range []string{"CreatedDate", "LastModifiedDate", "SystemModstamp"} {
		fields = append(fields, field{Name: sys, Type: "datetime", PicklistValues: []pick{}})
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": o.def.Name, "keyPrefix": o.def.KeyPrefix, "createable": true,
		"updateable": true, "deletable": true, "fields": fields})
}

func isText(t string) bool {
	switch t {
	case "string", "textarea", "email", "phone", "url", "picklist", "multipicklist":
		return true
	}
	return false
}

var soqlRe = regexp.MustCompile(`(?i)^\s*SELECT\s+Id\s*,\s*(\w+)\s+FROM\s+(\w+)\s+WHERE\s+(\w+)\s+IN\s*\(([^)]*)\)\s*$`)

// query answers the one SOQL shape hoist sends to find record IDs by an
// external ID: SELECT Id, F FROM O WHERE F IN ('a', 'b').
func (s *Server) query(w http.ResponseWriter, r *http.Request) {
	s.count("query")
	m := soqlRe.FindStringSubmatch(r.URL.Query().Get("q"))
	if m == nil || !strings.EqualFold(m[1], m[3]) {
		s.bad(w, "MALFORMED_QUERY", "the fake answers only SELECT Id, F FROM O WHERE F IN (…)")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.objects[strings.ToLower(m[2])]
	if o == nil {
		s.mu.Unlock()
		s.fail(w, http.StatusBadRequest, "INVALID_TYPE", "sObject type '"+m[2]+"' is not supported.")
		s.mu.Lock()
		return
	}
	fi, f := o.field(m[1])
	if f == nil || !f.ExternalID {
		s.invalid("query by a field that is not an external ID")
		s.mu.Unlock()
		s.fail(w, http.StatusBadRequest, "INVALID_FIELD", "No such column '"+m[1]+"' on entity '"+o.def.Name+"'")
		s.mu.Lock()
		return
	}
	var recs []map[string]any
	for _, lit := range splitLiterals(m[4]) {
		if id, ok := o.byExt[fi][strings.ToLower(lit)]; ok {
			recs = append(recs, map[string]any{"attributes": map[string]string{"type": o.def.Name, "url": "/services/data/v62.0/sobjects/" + o.def.Name + "/" + id},
				"Id": id, f.Name: decode(o.byID[id])[fi]})
		}
	}
	if recs == nil {
		recs = []map[string]any{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"totalSize": len(recs), "done": true, "records": recs})
}

// splitLiterals reads 'a', 'b\'c' string literals.
func splitLiterals(list string) []string {
	var out []string
	var cur strings.Builder
	in, esc := false, false
	for _, c := range list {
		switch {
		case esc:
			cur.WriteRune(c)
			esc = false
		case in && c == '\\':
			esc = true
		case c == '\'':
			if in {
				out = append(out, cur.String())
				cur.Reset()
			}
			in = !in
		case in:
			cur.WriteRune(c)
		}
	}
	return out
}

// collections is /composite/sobjects[/{SObject}/{ExternalIdField}].
func (s *Server) collections(w http.ResponseWriter, r *http.Request, path []string) {
	if r.Method == http.MethodDelete && len(path) == 0 {
		s.collectionsDelete(w, r)
		return
	}
	op := ""
	switch {
	case r.Method == http.MethodPost && len(path) == 0:
		op = "insert"
	case r.Method == http.MethodPatch && len(path) == 0:
		op = "update"
	case r.Method == http.MethodPatch && len(path) == 2:
		op = "upsert"
	default:
		s.bad(w, "METHOD_NOT_ALLOWED", r.Method+" "+r.URL.Path+" is not a collections request")
		return
	}
	s.count("collections " + op)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		s.bad(w, "UNSUPPORTED_MEDIA_TYPE", "Content-Type "+ct+" (want application/json)")
		return
	}
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	var req struct {
		AllOrNone *bool                        `json:"allOrNone"`
		Records   []map[string]json.RawMessage `json:"records"`
	}
	if err := json.Unmarshal(data, &req); err != nil {
		s.bad(w, "JSON_PARSER_ERROR", err.Error())
		return
	}
	if len(req.Records) == 0 || len(req.Records) > 200 {
		s.bad(w, "INVALID_FIELD", fmt.Sprintf("a collections request takes 1 to 200 records, not %d", len(req.Records)))
		return
	}
	if req.AllOrNone != nil && *req.AllOrNone {
		s.bad(w, "INVALID_FIELD", "the fake does not roll back allOrNone requests: hoist sends allOrNone false")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var o *objStore
	ext := -1
	if op == "upsert" {
		o = s.objects[strings.ToLower(path[0])]
		if o != nil {
			var f *Field
			if ext, f = o.field(path[1]); f == nil || !f.ExternalID {
				s.invalid("upsert by " + path[1])
				s.mu.Unlock()
				s.fail(w, http.StatusNotFound, "NOT_FOUND", "Provided external ID field does not exist or is not accessible: "+path[1])
				s.mu.Lock()
				return
			}
		}
	}
	type result struct {
		ID      *string    `json:"id"`
		Success bool       `json:"success"`
		Errors  []recError `json:"errors"`
		Created *bool      `json:"created,omitempty"`
	}
	// check the request's shape first: an unknown field or type fails it whole
	type parsed struct {
		id    string
		cells []cell
		err   *outcome
	}
	recs := make([]parsed, len(req.Records))
	var fieldsSeen []string
	for k, rec := range req.Records {
		var attrs struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(rec["attributes"], &attrs) != nil || attrs.Type == "" {
			s.invalid("collections record without attributes.type")
			s.mu.Unlock()
			s.fail(w, http.StatusBadRequest, "INVALID_TYPE", "Must send attributes.type for each record")
			s.mu.Lock()
			return
		}
		ro := s.objects[strings.ToLower(attrs.Type)]
		if ro == nil || (o != nil && ro != o) {
			s.invalid("collections record of type " + attrs.Type)
			s.mu.Unlock()
			s.fail(w, http.StatusBadRequest, "INVALID_TYPE", "sObject type '"+attrs.Type+"' is not supported.")
			s.mu.Lock()
			return
		}
		o = ro
		for name, raw := range rec {
			switch {
			case name == "attributes":
				continue
			case strings.EqualFold(name, "id"):
				text, _, ok := jsonText(raw)
				if !ok {
					s.invalid("id not a string")
				}
				recs[k].id = text
				continue
			}
			fi, f := o.field(name)
			if f == nil {
				s.invalid("unknown field " + name)
				s.mu.Unlock()
				s.fail(w, http.StatusBadRequest, "INVALID_FIELD", "No such column '"+name+"' on sobject of type "+o.def.Name)
				s.mu.Lock()
				return
			}
			if k == 0 || !contains(fieldsSeen, f.Name) {
				fieldsSeen = append(fieldsSeen, f.Name)
			}
			text, null, ok := jsonText(raw)
			if !ok {
				s.invalid("field " + name + " is not a scalar")
				s.mu.Unlock()
				s.fail(w, http.StatusBadRequest, "JSON_PARSER_ERROR", "Cannot deserialize instance of "+f.Type+" from "+string(raw))
				s.mu.Lock()
				return
			}
			if null {
				recs[k].cells = append(recs[k].cells, cell{f: fi, null: true})
				continue
			}
			v, bad := canon(f, text)
			if bad != nil && recs[k].err == nil {
				recs[k].err = bad
			}
			recs[k].cells = append(recs[k].cells, cell{f: fi, v: v})
		}
		if op == "update" && recs[k].id == "" {
			recs[k].err = &outcome{code: "MISSING_ARGUMENT", msg: "Id not specified in an update call"}
		}
	}
	s.stats.CollectionRecords += len(recs)
	if s.cfg.KeepLog {
		s.log = append(s.log, LogEntry{Endpoint: "collections " + op, Records: len(recs), Fields: fieldsSeen})
	}
	out := make([]result, len(recs))
	for k, p := range recs {
		if s.cfg.KeepLog {
			s.noteUpload(o, op, ext, p.id, p.cells)
		}
		res := outcome{id: p.id}
		if p.err != nil {
			res = *p.err
		} else {
			res = s.apply(o, op, ext, p.id, p.cells)
		}
		if res.ok() {
			id := res.id
			out[k] = result{ID: &id, Success: true, Errors: []recError{}}
			if op == "upsert" {
				c := res.created
				out[k].Created = &c
			}
			continue
		}
		out[k] = result{Success: false, Errors: []recError{{Message: res.msg, StatusCode: res.code, Fields: res.fields}}}
		if res.id != "" {
			id := res.id
			out[k].ID = &id
		}
		if out[k].Errors[0].Fields == nil {
			out[k].Errors[0].Fields = []string{}
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
	s.mu.Lock()
}

// recError is a collections result's per-record error, which names its
// code statusCode (a request's errors say errorCode).
type recError struct {
	StatusCode string   `json:"statusCode"`
	Message    string   `json:"message"`
	Fields     []string `json:"fields"`
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// noteUpload counts a record identity's upload; s.mu held.
func (s *Server) noteUpload(o *objStore, op string, ext int, id string, cells []cell) {
	key := id
	if op == "upsert" || op == "insert" {
		for _, c := range cells {
			if (ext >= 0 && c.f == ext) || (ext < 0 && o.def.Fields[c.f].ExternalID) {
				key = c.v
			}
		}
	}
	s.uploads[strings.ToLower(o.def.Name)+"\x00"+key]++
	names := make([]string, 0, len(cells))
	for _, c := range cells {
		names = append(names, o.def.Fields[c.f].Name)
	}
	sort.Strings(names)
	s.sent[strings.ToLower(o.def.Name)+"\x00"+key] = names
}

// collectionsDelete is DELETE /composite/sobjects?ids=…&allOrNone=false.
func (s *Server) collectionsDelete(w http.ResponseWriter, r *http.Request) {
	s.count("collections delete")
	ids := strings.Split(r.URL.Query().Get("ids"), ",")
	if len(ids) == 0 || ids[0] == "" || len(ids) > 200 {
		s.bad(w, "INVALID_FIELD", fmt.Sprintf("a collections delete takes 1 to 200 ids, not %d", len(ids)))
		return
	}
	if r.URL.Query().Get("allOrNone") == "true" {
		s.bad(w, "INVALID_FIELD", "the fake does not roll back allOrNone requests: hoist sends allOrNone false")
		return
	}
	s.mu.Lock()
	type result struct {
		ID      string     `json:"id"`
		Success bool       `json:"success"`
		Errors  []recError `json:"errors"`
	}
	out := make([]result, len(ids))
	s.stats.CollectionRecords += len(ids)
	for k, id := range ids {
		o := s.objectOfID(id)
		if o == nil {
			out[k] = result{ID: id, Errors: []recError{{StatusCode: "INVALID_CROSS_REFERENCE_KEY", Message: "invalid cross reference id", Fields: []string{}}}}
			continue
		}
		if s.cfg.KeepLog {
			s.uploads[strings.ToLower(o.def.Name)+"\x00"+id]++
		}
		res := s.apply(o, "delete", -1, id, nil)
		out[k] = result{ID: id, Success: res.ok(), Errors: []recError{}}
		if !res.ok() {
			out[k].Errors = []recError{{StatusCode: res.code, Message: res.msg, Fields: []string{}}}
		}
	}
	if s.cfg.KeepLog {
		s.log = append(s.log, LogEntry{Endpoint: "collections delete", Records: len(ids)})
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// objectOfID finds the object an ID's prefix names; s.mu held.
func (s *Server) objectOfID(id string) *objStore {
	for _, o := range s.objects {
		if strings.HasPrefix(id, o.def.KeyPrefix) && len(id) >= 15 {
			return o
		}
	}
	return nil
}
