package hubspottest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// reply is a handler's answer.
type reply struct {
	status int
	body   any
}

// standardError is HubSpot's error object, in a 207's errors and as a 4xx
// body.
type standardError struct {
	Status        string              `json:"status"`
	Category      string              `json:"category"`
	Message       string              `json:"message"`
	Context       map[string][]string `json:"context"`
	Errors        []errorDetail       `json:"errors"`
	Links         map[string]string   `json:"links"`
	CorrelationID string              `json:"correlationId,omitempty"`
}

type errorDetail struct {
	Message string `json:"message"`
	Code    string `json:"code,omitempty"`
	In      string `json:"in,omitempty"`
}

func failure(status int, category, msg string, ctx map[string][]string) reply {
	if ctx == nil {
		ctx = map[string][]string{}
	}
	return reply{status: status, body: standardError{Status: "error", Category: category, Message: msg, Context: ctx,
		Errors: []errorDetail{}, Links: map[string]string{}, CorrelationID: "00000000-0000-4000-8000-000000000000"}}
}

// invalid is a request refused for its shape; s.mu held.
func (s *Server) invalid(msg string) reply {
	s.stats.Invalid++
	if len(s.stats.InvalidReasons) < 20 {
		s.stats.InvalidReasons = append(s.stats.InvalidReasons, msg)
	}
	return failure(http.StatusBadRequest, "VALIDATION_ERROR", msg, nil)
}

func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /crm/v3/properties/{objectType}", s.handle(s.properties))
	for _, e := range []string{"upsert", "update", "create", "archive", "read"} {
		mux.HandleFunc("POST /crm/v3/objects/{objectType}/batch/"+e, s.handle(s.batch("batch/"+e)))
	}
	return mux
}

// handle adapts a handler to the mux; ServeHTTP writes the reply.
func (s *Server) handle(h func(r *http.Request, body []byte) reply) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if c, ok := w.(*capture); ok {
			c.rep = h(r, c.body)
		}
	}
}

type propertyOut struct {
	Property
	Description          string          `json:"description"`
	GroupName            string          `json:"groupName"`
	ModificationMetadata map[string]bool `json:"modificationMetadata"`
}

func (s *Server) properties(r *http.Request, _ []byte) reply {
	t := objectTypeOf(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	cat, ok := s.catalogs[t]
	if !ok {
		return failure(http.StatusBadRequest, "VALIDATION_ERROR", "Unable to infer object type from: "+t, nil)
	}
	out := make([]propertyOut, 0, len(cat))
	for _, p := range cat {
		if p.Options == nil {
			p.Options = []Option{}
		}
		group := p.Group
		if group == "" {
			group = t[:len(t)-1] + "information"
		}
		out = append(out, propertyOut{Property: p, GroupName: group,
			ModificationMetadata: map[string]bool{"archivable": true, "readOnlyDefinition": p.ReadOnly, "readOnlyValue": p.ReadOnly}})
	}
	return reply{status: http.StatusOK, body: map[string]any{"results": out}}
}

// batchBody is every field the batch request schemas allow.
type batchBody struct {
	IDProperty string `json:"idProperty"`
	Inputs     []struct {
		ID         string            `json:"id"`
		IDProperty string            `json:"idProperty"`
		TraceID    string            `json:"objectWriteTraceId"`
		Properties map[string]string `json:"properties"`
	} `json:"inputs"`
	Properties []string `json:"properties"`
}

// batch serves one batch endpoint of the objects API.
func (s *Server) batch(endpoint string) func(r *http.Request, body []byte) reply {
	return func(r *http.Request, body []byte) reply {
		t := objectTypeOf(r)
		// the body is checked before the lock: batches are served one at
		// a time, and their validation is most of a batch's cost
		schemaErr := validateBody(endpoint, body)
		var b batchBody
		var decodeErr error
		if schemaErr == nil {
			decodeErr = json.NewDecoder(bytes.NewReader(body)).Decode(&b)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.stats.ByEndpoint[endpoint]++
		st := s.objectStore(t)
		if st == nil {
			return failure(http.StatusBadRequest, "VALIDATION_ERROR", "Unable to infer object type from: "+t, nil)
		}
		if schemaErr != nil {
			return s.invalid(fmt.Sprintf("%s: the body does not match the documented schema: %v", endpoint, schemaErr))
		}
		if decodeErr != nil {
			return s.invalid(decodeErr.Error())
		}
		seen := map[string]bool{}
		var inputs []Input
		for _, in := range b.Inputs {
			idp := in.IDProperty
			if endpoint == "batch/read" {
				idp = b.IDProperty
			}
			if endpoint != "batch/create" {
				if in.ID == "" {
					return s.invalid(endpoint + ": an input has an empty id")
				}
				k := strings.ToLower(in.ID)
				if seen[k] {
					return s.invalid(fmt.Sprintf("Duplicate IDs found in batch input: [%s]. IDs must be unique", in.ID))
				}
				seen[k] = true
			}
			if idp != "" && idp != "hs_object_id" {
				p := s.property(t, idp)
				if p == nil || !p.Unique {
					return s.invalid(fmt.Sprintf("%s is not a unique property of %s: it cannot be an idProperty", idp, t))
				}
			}
			inputs = append(inputs, Input{ID: in.ID, IDProperty: idp, TraceID: in.TraceID, Properties: in.Properties})
		}
		now := time.Now().UTC()
		var rep reply
		switch endpoint {
		case "batch/upsert", "batch/update", "batch/create":
			rep = s.write(t, st, endpoint, inputs, now)
		case "batch/archive":
			for _, in := range inputs {
				s.archive(t, st, in.ID)
			}
			rep = reply{status: http.StatusNoContent}
		case "batch/read":
			rep = s.read(t, st, b.Properties, inputs, now)
		}
		if rep.status < 300 {
			s.stats.Inputs += int64(len(inputs))
			if s.cfg.KeepLog && endpoint != "batch/read" {
				s.log = append(s.log, LogEntry{Object: t, Endpoint: endpoint, Inputs: inputs})
			}
		}
		return rep
	}
}

// write applies upserts, updates or creates; s.mu held.
func (s *Server) write(t string, st *store, endpoint string, inputs []Input, now time.Time) reply {
	type failed struct {
		category, msg string
		ids           []string
	}
	var fails []failed
	var results []map[string]any
	ok := make([]bool, len(inputs))
	for i, in := range inputs {
		var bad []string
		for k, v := range in.Properties {
			p := s.property(t, k)
			if p == nil {
				bad = append(bad, fmt.Sprintf("Property %q does not exist", k))
				continue
			}
			if why := checkValue(p, v); why != "" {
				bad = append(bad, why)
			}
		}
		if endpoint == "batch/upsert" && in.IDProperty != "" && in.IDProperty != "hs_object_id" {
			if why := checkValue(s.property(t, in.IDProperty), in.ID); why != "" {
				bad = append(bad, why)
			}
		}
		if len(bad) > 0 {
			fails = append(fails, failed{"VALIDATION_ERROR", "Property values were not valid: " + strings.Join(bad, "; "), []string{in.ID}})
			continue
		}
		if endpoint == "batch/update" && s.find(t, st, in.IDProperty, in.ID) == nil {
			fails = append(fails, failed{"OBJECT_NOT_FOUND", "Could not get some " + strings.ToUpper(t) + " objects, they may be deleted or not exist. Check that ids are valid.", []string{in.ID}})
			continue
		}
		ok[i] = true
	}
	if len(fails) > 0 && s.cfg.WholeBatch400 {
		var ids []string
		for _, f := range fails {
			ids = append(ids, f.ids...)
		}
		s.stats.RejectedRecords += int64(len(inputs))
		return failure(http.StatusBadRequest, "VALIDATION_ERROR", fails[0].msg, map[string][]string{"ids": ids})
	}
	for i, in := range inputs {
		if !ok[i] {
			continue
		}
		var rec *Record
		isNew := false
		switch endpoint {
		case "batch/create":
			rec, isNew = s.create(t, st, in.Properties), true
		case "batch/update":
			rec = s.find(t, st, in.IDProperty, in.ID)
			s.set(t, st, rec, in.Properties)
		case "batch/upsert":
			rec = s.find(t, st, in.IDProperty, in.ID)
			if rec == nil {
				props := map[string]string{}
				for k, v := range in.Properties {
					props[k] = v
				}
				if in.IDProperty != "" && in.IDProperty != "hs_object_id" {
					props[in.IDProperty] = in.ID
				}
				rec, isNew = s.create(t, st, props), true
			} else {
				s.set(t, st, rec, in.Properties)
			}
		}
		// the properties written, and those HubSpot keeps itself
		props := make(map[string]string, len(in.Properties)+4)
		for k := range in.Properties {
			if v, ok := rec.Properties[k]; ok {
				props[k] = v
			}
		}
		for _, k := range []string{"hs_object_id", "createdate", "hs_lastmodifieddate", in.IDProperty} {
			if v, ok := rec.Properties[k]; ok {
				props[k] = v
			}
		}
		res := map[string]any{"id": rec.ID, "properties": props, "createdAt": rec.CreatedAt.Format(time.RFC3339Nano),
			"updatedAt": rec.UpdatedAt.Format(time.RFC3339Nano), "archived": false}
		if endpoint == "batch/upsert" {
			res["new"] = isNew
		}
		if in.TraceID != "" {
			res["objectWriteTraceId"] = in.TraceID
		}
		results = append(results, res)
	}
	// HubSpot promises no order: answer last first
	for i, j := 0, len(results)-1; i < j; i, j = i+1, j-1 {
		results[i], results[j] = results[j], results[i]
	}
	body := map[string]any{"status": "COMPLETE", "results": results, "startedAt": now.Format(time.RFC3339Nano), "completedAt": time.Now().UTC().Format(time.RFC3339Nano)}
	if len(fails) == 0 {
		return reply{status: http.StatusOK, body: body}
	}
	var errs []standardError
	for i := len(fails) - 1; i >= 0; i-- {
		f := fails[i]
		s.stats.RejectedRecords++
		errs = append(errs, failure(0, f.category, f.msg, map[string][]string{"ids": f.ids}).body.(standardError))
	}
	for i := range errs {
		errs[i].CorrelationID = ""
	}
	body["errors"], body["numErrors"] = errs, len(errs)
	return reply{status: http.StatusMultiStatus, body: body}
}

// read answers batch/read; s.mu held.
func (s *Server) read(t string, st *store, props []string, inputs []Input, now time.Time) reply {
	var results []map[string]any
	var missing []string
	for _, in := range inputs {
		rec := s.find(t, st, in.IDProperty, in.ID)
		if rec == nil {
			missing = append(missing, in.ID)
			continue
		}
		out := map[string]string{"hs_object_id": rec.ID}
		for _, p := range props {
			if v, ok := rec.Properties[p]; ok {
				out[p] = v
			}
		}
		results = append(results, map[string]any{"id": rec.ID, "properties": out, "createdAt": rec.CreatedAt.Format(time.RFC3339Nano),
			"updatedAt": rec.UpdatedAt.Format(time.RFC3339Nano), "archived": false})
	}
	body := map[string]any{"status": "COMPLETE", "results": results, "startedAt": now.Format(time.RFC3339Nano), "completedAt": time.Now().UTC().Format(time.RFC3339Nano)}
	if len(missing) == 0 {
		return reply{status: http.StatusOK, body: body}
	}
	e := failure(0, "OBJECT_NOT_FOUND", "Could not get some "+strings.ToUpper(t)+" objects, they may be deleted or not exist. Check that ids are valid.",
		map[string][]string{"ids": missing}).body.(standardError)
	e.CorrelationID = ""
	body["errors"], body["numErrors"] = []standardError{e}, 1
	return reply{status: http.StatusMultiStatus, body: body}
}
