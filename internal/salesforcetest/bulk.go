package salesforcetest

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"
)

// Bulk API 2.0 ingest jobs (/jobs/ingest): create, one CSV upload, close or
// abort, asynchronous processing, result CSVs, delete.

type job struct {
	id, object, op, extField string
	lineEnding, delimiter    string
	version                  string
	o                        *objStore
	ext                      int
	state                    string
	created                  time.Time
	data                     []byte
	uploaded                 bool
	results                  []jobResult // per record, in upload order
	processed, failed        int
	errMsg                   string
	reads                    int
	procTime                 time.Duration
	stop                     bool // aborted while processing
}

type jobResult struct {
	status  byte // 0 unprocessed, 1 success, 2 failed
	created bool
	id      string
	err     string
}

var delimiters = map[string]rune{"COMMA": ',', "TAB": '\t', "PIPE": '|', "SEMICOLON": ';', "CARET": '^', "BACKQUOTE": '`'}

func (s *Server) ingest(w http.ResponseWriter, r *http.Request, path []string, version string) {
	switch {
	case len(path) == 0 && r.Method == http.MethodPost:
		s.createJob(w, r, version)
	case len(path) == 0 && r.Method == http.MethodGet:
		s.count("jobs list")
		writeJSON(w, http.StatusOK, map[string]any{"done": true, "records": []any{}})
	case len(path) == 1 && r.Method == http.MethodGet:
		s.count("jobs info")
		s.withJob(w, path[0], func(j *job) (int, any) { return http.StatusOK, s.info(j) })
	case len(path) == 1 && r.Method == http.MethodPatch:
		s.count("jobs state")
		s.setState(w, r, path[0])
	case len(path) == 1 && r.Method == http.MethodDelete:
		s.count("jobs delete")
		s.deleteJob(w, path[0])
	case len(path) == 2 && path[1] == "batches" && r.Method == http.MethodPut:
		s.count("jobs upload")
		s.upload(w, r, path[0])
	case len(path) == 2 && r.Method == http.MethodGet && (path[1] == "successfulResults" || path[1] == "failedResults" || path[1] == "unprocessedrecords"):
		s.count("results " + path[1])
		s.results(w, path[0], path[1])
	default:
		s.bad(w, "NOT_FOUND", r.Method+" "+r.URL.Path+" is not an ingest request")
	}
}

func (s *Server) createJob(w http.ResponseWriter, r *http.Request, version string) {
	s.count("jobs create")
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		s.bad(w, "UNSUPPORTED_MEDIA_TYPE", "Content-Type "+ct)
		return
	}
	var req struct {
		Object              string `json:"object"`
		Operation           string `json:"operation"`
		ExternalIDFieldName string `json:"externalIdFieldName"`
		ContentType         string `json:"contentType"`
		LineEnding          string `json:"lineEnding"`
		ColumnDelimiter     string `json:"columnDelimiter"`
		AssignmentRuleID    string `json:"assignmentRuleId"`
	}
	d := json.NewDecoder(r.Body)
	d.DisallowUnknownFields()
	if err := d.Decode(&req); err != nil {
		s.bad(w, "JSON_PARSER_ERROR", err.Error())
		return
	}
	if req.ContentType == "" {
		req.ContentType = "CSV"
	}
	if req.LineEnding == "" {
		req.LineEnding = "LF"
	}
	if req.ColumnDelimiter == "" {
		req.ColumnDelimiter = "COMMA"
	}
	switch {
	case req.ContentType != "CSV":
		s.bad(w, "INVALIDJOB", "contentType must be CSV")
		return
	case req.LineEnding != "LF" && req.LineEnding != "CRLF":
		s.bad(w, "INVALIDJOB", "lineEnding must be LF or CRLF")
		return
	case delimiters[req.ColumnDelimiter] == 0:
		s.bad(w, "INVALIDJOB", "columnDelimiter "+req.ColumnDelimiter+" is not one of BACKQUOTE, CARET, COMMA, PIPE, SEMICOLON, TAB")
		return
	}
	switch req.Operation {
	case "insert", "update", "upsert", "delete", "hardDelete":
	default:
		s.bad(w, "INVALIDJOB", "operation "+req.Operation+" is not insert, update, upsert, delete or hardDelete")
		return
	}
	s.mu.Lock()
	o := s.objects[strings.ToLower(req.Object)]
	if o == nil {
		s.invalid("job on object " + req.Object)
		s.mu.Unlock()
		s.fail(w, http.StatusBadRequest, "NOT_FOUND", "sObject type '"+req.Object+"' is not supported.")
		return
	}
	ext := -1
	if req.Operation == "upsert" {
		var f *Field
		if ext, f = o.field(req.ExternalIDFieldName); f == nil || !f.ExternalID {
			s.invalid("upsert job by " + req.ExternalIDFieldName)
			s.mu.Unlock()
			s.fail(w, http.StatusBadRequest, "INVALIDJOB", "InvalidJob : External ID was blank for "+req.Object+" or is not an external ID field")
			return
		}
	} else if req.ExternalIDFieldName != "" {
		s.invalid("externalIdFieldName on a " + req.Operation + " job")
	}
	s.seq++
	j := &job{id: fmt.Sprintf("750%012dAAA", s.seq), object: o.def.Name, op: req.Operation, extField: req.ExternalIDFieldName,
		lineEnding: req.LineEnding, delimiter: req.ColumnDelimiter, version: version, o: o, ext: ext, state: "Open", created: time.Now()}
	s.jobs[j.id] = j
	s.stats.Jobs++
	s.stats.JobOps[j.op]++
	info := s.info(j)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, info)
}

// info is a job's JobInfo; s.mu held.
func (s *Server) info(j *job) map[string]any {
	m := map[string]any{"id": j.id, "operation": j.op, "object": j.object, "createdById": "005000000000001AAA",
		"createdDate": j.created.UTC().Format("2006-01-02T15:04:05.000+0000"), "systemModstamp": j.created.UTC().Format("2006-01-02T15:04:05.000+0000"),
		"state": j.state, "concurrencyMode": "Parallel", "contentType": "CSV", "apiVersion": json.Number(j.version), "jobType": "V2Ingest",
		"contentUrl": "services/data/v" + j.version + "/jobs/ingest/" + j.id + "/batches", "lineEnding": j.lineEnding, "columnDelimiter": j.delimiter,
		"numberRecordsProcessed": j.processed, "numberRecordsFailed": j.failed, "retries": 0,
		"totalProcessingTime": j.procTime.Milliseconds(), "apiActiveProcessingTime": j.procTime.Milliseconds(), "apexProcessingTime": 0}
	if j.extField != "" {
		m["externalIdFieldName"] = j.extField
	}
	if j.errMsg != "" {
		m["errorMessage"] = j.errMsg
	}
	return m
}

func (s *Server) withJob(w http.ResponseWriter, id string, f func(*job) (int, any)) {
	s.mu.Lock()
	j := s.jobs[id]
	if j == nil {
		s.mu.Unlock()
		s.fail(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	status, v := f(j)
	s.mu.Unlock()
	if v != nil {
		writeJSON(w, status, v)
	} else {
		w.WriteHeader(status)
	}
}

// upload is PUT /jobs/ingest/{id}/batches: the job's one CSV upload.
func (s *Server) upload(w http.ResponseWriter, r *http.Request, id string) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		s.bad(w, "UNSUPPORTED_MEDIA_TYPE", "Content-Type "+ct+" (want text/csv)")
		return
	}
	if s.cfg.UploadDelay > 0 {
		select {
		case <-time.After(s.cfg.UploadDelay):
		case <-r.Context().Done():
			return
		}
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, int64(s.cfg.MaxUpload)+1))
	if err != nil {
		return
	}
	if len(data) > s.cfg.MaxUpload {
		s.mu.Lock()
		s.invalid(fmt.Sprintf("upload larger than %d bytes", s.cfg.MaxUpload))
		s.mu.Unlock()
		s.fail(w, http.StatusRequestEntityTooLarge, "EXCEEDED_MAX_SIZE_REQUEST", fmt.Sprintf("the upload exceeds the maximum of %d bytes", s.cfg.MaxUpload))
		return
	}
	s.withJob(w, id, func(j *job) (int, any) {
		switch {
		case j.uploaded:
			s.invalid("second upload to job " + j.id)
			return http.StatusBadRequest, []apiError{{ErrorCode: "INVALIDJOBSTATE", Message: "Found multiple contents for job: <" + j.id +
				">, please 'Close' / 'Abort' / 'Delete' the current Job then create a new Job and make sure you only do 'PUT' once on a given Job."}}
		case j.state != "Open":
			s.invalid("upload to a " + j.state + " job")
			return http.StatusConflict, []apiError{{ErrorCode: "INVALIDJOBSTATE", Message: "Job is not in Open state: " + j.state}}
		}
		j.data, j.uploaded = data, true
		s.stats.MaxUpload = max(s.stats.MaxUpload, len(data))
		if s.cfg.KeepLog {
			hdr, n := s.noteJobUploads(j)
			s.log = append(s.log, LogEntry{Endpoint: "jobs upload", Job: j.id, Records: n, Fields: hdr})
		}
		return http.StatusCreated, nil
	})
}

// reader reads a job's CSV with its delimiter.
func (j *job) reader() *csv.Reader {
	cr := csv.NewReader(bytes.NewReader(j.data))
	cr.Comma = delimiters[j.delimiter]
	cr.ReuseRecord = true
	return cr
}

// noteJobUploads counts each uploaded record's identity; s.mu held.
func (s *Server) noteJobUploads(j *job) ([]string, int) {
	cr := j.reader()
	hdr, err := cr.Read()
	if err != nil {
		return nil, 0
	}
	hdr = append([]string(nil), hdr...)
	col := -1
	for i, h := range hdr {
		_, f := j.o.field(h)
		if (j.op == "upsert" && strings.EqualFold(h, j.extField)) || ((j.op == "update" || j.op == "delete" || j.op == "hardDelete") && strings.EqualFold(h, "Id")) ||
			(j.op == "insert" && f != nil && f.ExternalID) {
			col = i
		}
	}
	n := 0
	for {
		rec, err := cr.Read()
		if err != nil {
			break
		}
		n++
		if col >= 0 && col < len(rec) {
			key := strings.ToLower(j.object) + "\x00" + rec[col]
			s.uploads[key]++
			var names []string
			for i, v := range rec {
				if v != "" && i < len(hdr) && !strings.EqualFold(hdr[i], "Id") {
					names = append(names, hdr[i])
				}
			}
			sort.Strings(names)
			s.sent[key] = names
		}
	}
	return hdr, n
}

// setState is PATCH /jobs/ingest/{id}: UploadComplete or Aborted.
func (s *Server) setState(w http.ResponseWriter, r *http.Request, id string) {
	var req struct {
		State string `json:"state"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		s.bad(w, "JSON_PARSER_ERROR", err.Error())
		return
	}
	s.withJob(w, id, func(j *job) (int, any) {
		switch {
		case req.State == "UploadComplete" && j.state == "Open":
			j.state = "UploadComplete"
			s.schedule(j)
		case req.State == "Aborted" && (j.state == "Open" || j.state == "UploadComplete" || j.state == "InProgress"):
			j.state, j.stop = "Aborted", true
			j.results = make([]jobResult, countRecords(j))
		default:
			s.invalid(fmt.Sprintf("state %s on a %s job", req.State, j.state))
			return http.StatusBadRequest, []apiError{{ErrorCode: "INVALIDJOBSTATE", Message: "Invalid state change from " + j.state + " to " + req.State}}
		}
		return http.StatusOK, s.info(j)
	})
}

func countRecords(j *job) int {
	cr := j.reader()
	n := -1
	for {
		if _, err := cr.Read(); err != nil {
			break
		}
		n++
	}
	return max(n, 0)
}

// schedule starts a closed job's asynchronous processing: it waits
// JobLatency in UploadComplete, then InProgress for PerRecord a record;
// s.mu held.
func (s *Server) schedule(j *job) {
	n := countRecords(j)
	wait := s.cfg.JobLatency
	work := time.Duration(n) * s.cfg.PerRecord
	time.AfterFunc(wait, func() {
		s.mu.Lock()
		if j.state == "UploadComplete" {
			j.state = "InProgress"
		}
		s.mu.Unlock()
		time.AfterFunc(work, func() {
			if s.closed.Load() {
				return
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			if j.stop || j.state != "InProgress" {
				return
			}
			j.procTime = wait + work
			s.stats.ProcessingTime += j.procTime
			s.process(j)
		})
	})
}

// process applies a job's records; s.mu held.
func (s *Server) process(j *job) {
	if j.lineEnding == "LF" && bytes.Contains(j.data, []byte("\r\n")) {
		j.state, j.errMsg = "Failed", "ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is LF"
		j.results = make([]jobResult, countRecords(j))
		return
	}
	cr := j.reader()
	hdr, err := cr.Read()
	if err != nil {
		j.state, j.errMsg = "Failed", "InvalidBatch : "+err.Error()
		return
	}
	hdr = append([]string(nil), hdr...)
	cols := make([]int, len(hdr))
	idCol := -1
	for i, h := range hdr {
		if strings.EqualFold(h, "Id") {
			idCol, cols[i] = i, -1
			continue
		}
		fi, f := j.o.field(h)
		if f == nil {
			j.state, j.errMsg = "Failed", "InvalidBatch : Field name not found : "+h
			j.results = make([]jobResult, countRecords(j))
			return
		}
		cols[i] = fi
	}
	needID := j.op == "update" || j.op == "delete" || j.op == "hardDelete"
	if needID && idCol < 0 {
		j.state, j.errMsg = "Failed", "InvalidBatch : Field name not found : Id"
		j.results = make([]jobResult, countRecords(j))
		return
	}
	failAt := -1
	if s.fails > 0 {
		s.fails--
		failAt = countRecords(j) / 2
	}
	s.bulkBatches += (countRecords(j) + 9_999) / 10_000
	for k := 0; ; k++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			j.state, j.errMsg = "Failed", "InvalidBatch : "+err.Error()
			for ; k < cap(j.results); k++ {
				j.results = append(j.results, jobResult{})
			}
			return
		}
		if k == failAt {
			j.state, j.errMsg = "Failed", "InternalServerError : the fake failed this job midway (FailJobs)"
			rest := countRecords(j) - k
			for ; rest > 0; rest-- {
				j.results = append(j.results, jobResult{})
			}
			return
		}
		s.stats.BulkRecords++
		var id string
		var cells []cell
		var bad *outcome
		for i, v := range rec {
			if i == idCol {
				id = v
				continue
			}
			if i >= len(cols) || v == "" {
				continue // an empty field leaves the value alone
			}
			f := &j.o.def.Fields[cols[i]]
			if v == "#N/A" {
				cells = append(cells, cell{f: cols[i], null: true})
				continue
			}
			cv, b := canon(f, v)
			if b != nil && bad == nil {
				bad = b
			}
			cells = append(cells, cell{f: cols[i], v: cv})
		}
		res := outcome{id: id}
		if bad != nil {
			res = *bad
		} else {
			res = s.apply(j.o, j.op, j.ext, id, cells)
		}
		j.processed++
		if res.ok() {
			j.results = append(j.results, jobResult{status: 1, created: res.created, id: res.id})
		} else {
			j.failed++
			j.results = append(j.results, jobResult{status: 2, id: res.id, err: res.bulkError()})
		}
	}
	j.state = "JobComplete"
}

// results serves a finished job's result CSVs: successfulResults
// (sf__Id, sf__Created, the uploaded fields), failedResults (sf__Id,
// sf__Error, the fields) and unprocessedrecords (the fields).
func (s *Server) results(w http.ResponseWriter, id, kind string) {
	s.mu.Lock()
	j := s.jobs[id]
	if j == nil {
		s.mu.Unlock()
		s.fail(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	if j.state != "JobComplete" && j.state != "Failed" && j.state != "Aborted" {
		s.invalid("results of a " + j.state + " job")
		s.mu.Unlock()
		s.fail(w, http.StatusBadRequest, "INVALIDJOBSTATE", "job "+id+" is "+j.state+": results are not available yet")
		return
	}
	if kind == "successfulResults" {
		j.reads++
	}
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	cr := j.reader()
	hdr, err := cr.Read()
	if err != nil {
		hdr = nil
	}
	hdr = append([]string(nil), hdr...)
	switch kind {
	case "successfulResults":
		cw.Write(append([]string{"sf__Id", "sf__Created"}, hdr...))
	case "failedResults":
		cw.Write(append([]string{"sf__Id", "sf__Error"}, hdr...))
	default:
		cw.Write(hdr)
	}
	for k := 0; len(hdr) > 0; k++ {
		rec, err := cr.Read()
		if err != nil {
			break
		}
		res := jobResult{}
		if k < len(j.results) {
			res = j.results[k]
		}
		switch {
		case kind == "successfulResults" && res.status == 1:
			cw.Write(append([]string{res.id, fmt.Sprint(res.created)}, rec...))
		case kind == "failedResults" && res.status == 2:
			cw.Write(append([]string{res.id, res.err}, rec...))
		case kind == "unprocessedrecords" && res.status == 0:
			cw.Write(rec)
		}
	}
	cw.Flush()
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/csv")
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
}

// deleteJob is DELETE /jobs/ingest/{id}: a closed job and its data go.
func (s *Server) deleteJob(w http.ResponseWriter, id string) {
	s.withJob(w, id, func(j *job) (int, any) {
		if j.state == "Open" || j.state == "InProgress" {
			s.invalid("delete of a " + j.state + " job")
			return http.StatusBadRequest, []apiError{{ErrorCode: "INVALIDJOBSTATE", Message: "a job can be deleted only when UploadComplete, JobComplete, Aborted or Failed"}}
		}
		j.stop = true
		delete(s.jobs, id)
		return http.StatusNoContent, nil
	})
}
