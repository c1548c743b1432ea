package crmtest

import (
	"fmt"
	"net/http"
	"strconv"
)

// The people resource is a REST API of the kind business apps have: the
// server assigns each record its ID, create (POST) and update (PATCH, PUT)
// are separate verbs, and a record is addressed by that ID afterwards, not
// by the client's key. A record still carries the client's key in KeyField
// (an "external id"), unique across people, which GET /people?KEY=V finds.
// Batch answers list their results in an order of their own (reversed), as
// APIs that promise no order do, so a client must match them by content.
//
//	POST   /people               create; 409 when the key exists
//	PATCH  /people/{id}          merge fields; 404 when missing
//	PUT    /people/{id}          replace fields; 404 when missing
//	DELETE /people/{id}          204; 404 when missing
//	GET    /people/{id}          the record
//	GET    /people?KEY=V         {"results": [record]} ([] when none)
//	POST   /people/batch/create  [record] → {"results": [{id, KEY, …}], "errors": [{"key", "message"}]}
//	POST   /people/batch/update  [{id, …}] → {"results": […], "errors": [{"id", "message"}]}
//	POST   /people/batch/delete  [{id}] → 200
func (s *Server) peopleRoutes() {
	s.mux.HandleFunc("POST /people", s.on(s.personCreate))
	s.mux.HandleFunc("PATCH /people/{id}", s.on(s.personPatch))
	s.mux.HandleFunc("PUT /people/{id}", s.on(s.personPut))
	s.mux.HandleFunc("DELETE /people/{id}", s.on(s.personDelete))
	s.mux.HandleFunc("GET /people/{id}", s.on(s.personGet))
	s.mux.HandleFunc("GET /people", s.on(s.personFind))
	s.mux.HandleFunc("POST /people/batch/create", s.on(s.peopleCreate))
	s.mux.HandleFunc("POST /people/batch/update", s.on(s.peopleUpdate))
	s.mux.HandleFunc("POST /people/batch/delete", s.on(s.peopleDelete))
}

// People returns a copy of every person by the ID the server gave it.
func (s *Server) People() map[string]map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]map[string]any, len(s.people))
	for id, r := range s.people {
		out[id] = clone(r)
	}
	return out
}

// RemovePerson deletes a person behind the client's back (drift).
func (s *Server) RemovePerson(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.people, id)
}

// personByKey finds a person's ID by the client's key; s.mu held.
func (s *Server) personByKey(key string) (string, bool) {
	for id, p := range s.people {
		if keyString(p[s.cfg.KeyField]) == key {
			return id, true
		}
	}
	return "", false
}

// newPerson stores rec under a fresh ID unless its key is taken; s.mu held.
func (s *Server) newPerson(rec map[string]any) (map[string]any, *reply) {
	if why := s.invalid(rec); why != "" {
		rep := bad(why)
		return nil, &rep
	}
	if _, ok := rec["id"]; ok {
		rep := bad("id is assigned by the server")
		return nil, &rep
	}
	k := keyString(rec[s.cfg.KeyField])
	if id, ok := s.personByKey(k); ok {
		return nil, &reply{status: http.StatusConflict, body: map[string]any{"error": "a person with " + s.cfg.KeyField + " " + k + " exists", "id": id}}
	}
	s.personID++
	id := "p" + strconv.Itoa(s.personID)
	p := clone(rec)
	p["id"] = id
	s.people[id] = p
	return clone(p), nil
}

func (s *Server) personCreate(r *http.Request) reply {
	var rec map[string]any
	if err := readJSON(r, &rec); err != nil {
		return bad("body must be a JSON object: " + err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, rep := s.newPerson(rec)
	if rep != nil {
		return *rep
	}
	return reply{status: http.StatusCreated, body: p}
}

// changePerson merges (or, replace, swaps) fields into person id; s.mu held.
func (s *Server) changePerson(id string, rec map[string]any, replace bool) (map[string]any, *reply) {
	cur, ok := s.people[id]
	if !ok {
		return nil, &reply{status: http.StatusNotFound, body: map[string]any{"error": "no person " + id}}
	}
	next := clone(cur)
	if replace {
		next = map[string]any{"id": id}
	}
	for k, v := range rec {
		if k == "id" {
			if keyString(v) != id {
				return nil, &reply{status: http.StatusBadRequest, body: map[string]any{"error": fmt.Sprintf("id %v in body does not match %s", v, id)}}
			}
			continue
		}
		next[k] = v
	}
	if why := s.invalid(next); why != "" {
		rep := bad(why)
		return nil, &rep
	}
	if k := keyString(next[s.cfg.KeyField]); k != keyString(cur[s.cfg.KeyField]) {
		if other, ok := s.personByKey(k); ok && other != id {
			return nil, &reply{status: http.StatusConflict, body: map[string]any{"error": "a person with " + s.cfg.KeyField + " " + k + " exists", "id": other}}
		}
	}
	s.people[id] = next
	return clone(next), nil
}

func (s *Server) personPatch(r *http.Request) reply { return s.personChange(r, false) }
func (s *Server) personPut(r *http.Request) reply   { return s.personChange(r, true) }

func (s *Server) personChange(r *http.Request, replace bool) reply {
	var rec map[string]any
	if err := readJSON(r, &rec); err != nil {
		return bad("body must be a JSON object: " + err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, rep := s.changePerson(r.PathValue("id"), rec, replace)
	if rep != nil {
		return *rep
	}
	return reply{status: http.StatusOK, body: p}
}

func (s *Server) personDelete(r *http.Request) reply {
	id := r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.people[id]; !ok {
		return reply{status: http.StatusNotFound, body: map[string]any{"error": "no person " + id}}
	}
	delete(s.people, id)
	return reply{status: http.StatusNoContent}
}

func (s *Server) personGet(r *http.Request) reply {
	id := r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.people[id]
	if !ok {
		return reply{status: http.StatusNotFound, body: map[string]any{"error": "no person " + id}}
	}
	return reply{status: http.StatusOK, body: clone(p)}
}

func (s *Server) personFind(r *http.Request) reply {
	k := r.URL.Query().Get(s.cfg.KeyField)
	if k == "" {
		return bad("query parameter " + s.cfg.KeyField + " is required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	results := []any{}
	if id, ok := s.personByKey(k); ok {
		results = append(results, clone(s.people[id]))
	}
	return reply{status: http.StatusOK, body: map[string]any{"results": results}}
}

// reversed answers a batch's results last first: an order of the server's
// own, which only matching by content gets right.
func reversed(in []any) []any {
	out := make([]any, len(in))
	for i, v := range in {
		out[len(in)-1-i] = v
	}
	return out
}

func (s *Server) peopleCreate(r *http.Request) reply {
	var recs []map[string]any
	if err := readJSON(r, &recs); err != nil {
		return bad("body must be a JSON array of objects: " + err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	results, errs := []any{}, []any{}
	for _, rec := range recs {
		p, rep := s.newPerson(rec)
		if rep != nil {
			errs = append(errs, map[string]any{"key": keyString(rec[s.cfg.KeyField]), "status": rep.status, "message": fmt.Sprint(rep.body.(map[string]any)["error"])})
			continue
		}
		results = append(results, p)
	}
	return batchReply(results, errs)
}

func (s *Server) peopleUpdate(r *http.Request) reply {
	var recs []map[string]any
	if err := readJSON(r, &recs); err != nil {
		return bad("body must be a JSON array of objects: " + err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	results, errs := []any{}, []any{}
	for _, rec := range recs {
		id := keyString(rec["id"])
		p, rep := s.changePerson(id, rec, false)
		if rep != nil {
			errs = append(errs, map[string]any{"id": id, "status": rep.status, "message": fmt.Sprint(rep.body.(map[string]any)["error"])})
			continue
		}
		results = append(results, p)
	}
	return batchReply(results, errs)
}

func batchReply(results, errs []any) reply {
	body := map[string]any{"results": reversed(results)}
	if len(errs) == 0 {
		return reply{status: http.StatusOK, body: body}
	}
	body["errors"] = reversed(errs)
	return reply{status: http.StatusMultiStatus, body: body}
}

func (s *Server) peopleDelete(r *http.Request) reply {
	var recs []map[string]any
	if err := readJSON(r, &recs); err != nil {
		return bad("body must be a JSON array of {id} objects: " + err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, rec := range recs {
		id := keyString(rec["id"])
		if id == "" {
			return bad("every entry needs an id")
		}
		if _, ok := s.people[id]; ok {
			delete(s.people, id)
			n++
		}
	}
	return reply{status: http.StatusOK, body: map[string]any{"deleted": n}}
}
