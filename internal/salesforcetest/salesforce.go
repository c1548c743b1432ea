// Package salesforcetest is a fake Salesforce org for tests, benchmarks and
// demos of hoist's salesforce destination, written from Salesforce's public
// REST API, sObject Collections and Bulk API 2.0 documentation:
//
//   - OAuth 2.0 token endpoint: the JWT bearer flow (the assertion's RS256
//     signature checked with the connected app's certificate key, its iss,
//     sub, aud and exp) and the client credentials flow; sessions that
//     expire (401 INVALID_SESSION_ID);
//   - sObject Collections: create (POST), update (PATCH), upsert by an
//     external ID field (PATCH …/{SObject}/{Field}) and delete (DELETE
//     ?ids=), at most 200 records, allOrNone, per-record results in request
//     order;
//   - Bulk API 2.0 ingest jobs: create (object, operation, externalIdFieldName,
//     lineEnding, columnDelimiter), one CSV upload of at most 150 MB, close
//     (UploadComplete) or abort, asynchronous processing (UploadComplete →
//     InProgress → JobComplete or Failed, taking simulated time), and the
//     successfulResults, failedResults and unprocessedrecords CSVs;
//   - describe (fields, types, createable/updateable, picklist values), the
//     limits resource and every answer's Sforce-Limit-Info header;
//   - a minimal SOQL query (SELECT Id, F FROM O WHERE F IN (…)) for lookups.
//
// Every request is validated; Stats counts the invalid ones. Records are
// kept compactly (one byte string per record) so that a benchmark's
// hundreds of thousands of wide records fit. Faults: jobs that fail midway,
// slow processing, 5xx answers, UNABLE_TO_LOCK_ROW record failures.
package salesforcetest

import (
	"crypto/rsa"
	"encoding/binary"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	stdsync "sync"
	"sync/atomic"
	"time"
)

// Field is one field of an sObject as describe states it.
type Field struct {
	Name string
	// Type is a describe type: string, textarea, email, phone, url,
	// picklist, multipicklist, double, currency, percent, int, boolean,
	// date, datetime, reference, id.
	Type       string
	Length     int // strings (default 255)
	Picklist   []string
	Restricted bool // a restricted picklist refuses other values
	ExternalID bool
	Required   bool // not nillable, no default: every create must set it
	ReadOnly   bool // neither createable nor updateable (formula, system)
	CreateOnly bool // createable, not updateable
	// Rule is a validation rule on the field: a value it matches fails its
	// record FIELD_CUSTOM_VALIDATION_EXCEPTION (the rule's error shown at
	// the field), as an org's validation rules do.
	Rule *regexp.Regexp
}

// Object is an sObject type.
type Object struct {
	Name      string
	KeyPrefix string // the three characters record IDs start with
	Fields    []Field
}

// Config sets a fake org up.
type Config struct {
	// ClientID is the connected app's consumer key; Username the user the
	// JWT flow may act as; PublicKey checks the JWT's signature (nil: the
	// JWT flow is refused); ClientSecret enables client credentials.
	ClientID, Username, ClientSecret string
	PublicKey                        *rsa.PublicKey
	// TokenTTL expires sessions (0: never; ExpireTokens ends them too).
	TokenTTL time.Duration
	Objects  []Object
	// DailyAPIRequests is the org's REST request limit (default 100,000);
	// DailyBulkBatches its Bulk batches a day (default 15,000).
	DailyAPIRequests, DailyBulkBatches int
	// JobLatency is how long a closed job waits before processing;
	// PerRecord is the simulated processing time of one record.
	JobLatency, PerRecord time.Duration
	// FailJobs: the next n closed jobs process half their records and end
	// Failed (the rest unprocessed).
	FailJobs int
	// LockFailures: the next n record operations fail UNABLE_TO_LOCK_ROW.
	LockFailures int
	// ErrorEvery answers every n-th API request 503, unapplied (0: never).
	ErrorEvery int
	// UploadDelay holds each job upload this long before reading it (a
	// slow link: a client killed meanwhile leaves its job Open).
	UploadDelay time.Duration
	// MaxUpload is a job's upload limit (default 150 MB, the documented).
	MaxUpload int
	// KeepLog keeps, per record identity, how many times it was uploaded,
	// and the requests (Log, Uploads).
	KeepLog bool
}

// Server is a fake org on an httptest server.
type Server struct {
	URL string
	srv *httptest.Server
	cfg Config

	mu          stdsync.Mutex
	objects     map[string]*objStore // by lower-case name
	tokens      map[string]time.Time // session → expiry (zero: none)
	jobs        map[string]*job
	seq         int64
	stats       Stats
	uploads     map[string]int      // object\x00identity → times uploaded
	sent        map[string][]string // object\x00identity → the fields its last upload set (or cleared)
	log         []LogEntry
	locks       int
	bulkBatches int
	fails       int
	closed      atomic.Bool
	timers      stdsync.WaitGroup
}

// Stats counts what the fake saw.
type Stats struct {
	Requests       int            // API requests (not the token endpoint)
	ByEndpoint     map[string]int // "collections POST", "jobs create", "results successfulResults", …
	Tokens         int            // sessions granted
	Invalid        int            // requests Salesforce would refuse as malformed
	InvalidReasons []string
	Jobs           int
	JobOps         map[string]int // jobs by operation
	MaxUpload      int            // largest job upload, bytes
	// CollectionRecords and BulkRecords count records sent each way.
	CollectionRecords, BulkRecords int
	ProcessingTime                 time.Duration // simulated job processing time, summed
	Expired                        int           // requests refused for an expired session
}

// LogEntry is one request the fake answered (KeepLog).
type LogEntry struct {
	Endpoint string
	Job      string
	Records  int
	Fields   []string // the fields a collections record or a job's CSV carried
}

// New starts a fake org.
func New(cfg Config) *Server {
	s := NewHandler(cfg)
	s.srv = httptest.NewServer(s)
	s.URL = s.srv.URL
	return s
}

// NewHandler makes a fake org without a server (the demo command serves it).
func NewHandler(cfg Config) *Server {
	if cfg.DailyAPIRequests == 0 {
		cfg.DailyAPIRequests = 100_000
	}
	if cfg.DailyBulkBatches == 0 {
		cfg.DailyBulkBatches = 15_000
	}
	if cfg.MaxUpload == 0 {
		cfg.MaxUpload = 150 << 20
	}
	s := &Server{cfg: cfg, objects: map[string]*objStore{}, tokens: map[string]time.Time{}, jobs: map[string]*job{},
		uploads: map[string]int{}, sent: map[string][]string{}, stats: Stats{ByEndpoint: map[string]int{}, JobOps: map[string]int{}}, locks: cfg.LockFailures, fails: cfg.FailJobs}
	for _, o := range cfg.Objects {
		s.objects[strings.ToLower(o.Name)] = newObjStore(o)
	}
	return s
}

// Close stops the server and any job still processing.
func (s *Server) Close() {
	s.closed.Store(true)
	if s.srv != nil {
		s.srv.Close()
	}
}

// DefineObject adds object o to the org, or the fields of o it lacks to
// the object of that name (a test declaring objects as it goes, as an admin
// adds custom objects and fields in Setup). An empty KeyPrefix gets one no
// other object has.
func (s *Server) DefineObject(o Object) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.objects[strings.ToLower(o.Name)]
	if st == nil {
		if o.KeyPrefix == "" {
			o.KeyPrefix = s.freePrefix()
		}
		o.Fields = append([]Field(nil), o.Fields...)
		s.objects[strings.ToLower(o.Name)] = newObjStore(o)
		return
	}
	for _, f := range o.Fields {
		if i, _ := st.field(f.Name); i >= 0 {
			continue
		}
		i := len(st.def.Fields)
		st.def.Fields = append(st.def.Fields, f)
		st.index[strings.ToLower(f.Name)] = i
		if f.ExternalID {
			st.byExt[i] = map[string]string{}
			st.extKeys = append(st.extKeys, i)
		}
	}
}

// freePrefix is a key prefix no object has ("x00", "x01", …); s.mu held.
func (s *Server) freePrefix() string {
	const digits = "0123456789abcdefghijklmnopqrstuvwxyz"
	for n := 0; n < len(digits)*len(digits); n++ {
		p := "x" + string(digits[n/len(digits)]) + string(digits[n%len(digits)])
		taken := false
		for _, o := range s.objects {
			taken = taken || o.def.KeyPrefix == p
		}
		if !taken {
			return p
		}
	}
	panic("salesforcetest: no key prefix left")
}

// ExpireTokens ends every session: the next request with one gets a 401.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for t := range s.tokens {
		s.tokens[t] = time.Unix(1, 0)
	}
}

// SetFaults changes the fault options of a running fake.
func (s *Server) SetFaults(failJobs, lockFailures, errorEvery int, perRecord time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fails, s.locks, s.cfg.ErrorEvery, s.cfg.PerRecord = failJobs, lockFailures, errorEvery, perRecord
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.ByEndpoint, st.JobOps = map[string]int{}, map[string]int{}
	for k, v := range s.stats.ByEndpoint {
		st.ByEndpoint[k] = v
	}
	for k, v := range s.stats.JobOps {
		st.JobOps[k] = v
	}
	st.InvalidReasons = append([]string(nil), s.stats.InvalidReasons...)
	return st
}

// Log returns the requests kept (KeepLog).
func (s *Server) Log() []LogEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]LogEntry(nil), s.log...)
}

// Uploads returns how many times each record identity (its external ID
// value, or its Id for updates and deletes) of object was uploaded, through
// either API (KeepLog).
func (s *Server) Uploads(object string) map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	prefix := strings.ToLower(object) + "\x00"
	for k, n := range s.uploads {
		if strings.HasPrefix(k, prefix) {
			out[strings.TrimPrefix(k, prefix)] = n
		}
	}
	return out
}

// Sent returns, per record identity of object, the fields its last upload
// set or cleared (an empty Bulk CSV cell sets nothing), sorted (KeepLog).
func (s *Server) Sent(object string) map[string][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]string{}
	prefix := strings.ToLower(object) + "\x00"
	for k, v := range s.sent {
		if strings.HasPrefix(k, prefix) {
			out[strings.TrimPrefix(k, prefix)] = v
		}
	}
	return out
}

// ResetLog forgets the log, the upload counts and the counters.
func (s *Server) ResetLog() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log, s.uploads, s.sent, s.stats = nil, map[string]int{}, map[string][]string{}, Stats{ByEndpoint: map[string]int{}, JobOps: map[string]int{}}
}

// Jobs returns the ingest jobs' IDs and states.
func (s *Server) Jobs() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for id, j := range s.jobs {
		out[id] = j.state
	}
	return out
}

// ResultReads returns how many times each job's result sets were read.
func (s *Server) ResultReads() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for id, j := range s.jobs {
		out[id] = j.reads
	}
	return out
}

// Records returns object's live records: Id → field → value (canonical
// text, as the API returns it; a null field is absent).
func (s *Server) Records(object string) map[string]map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.objects[strings.ToLower(object)]
	if o == nil {
		return nil
	}
	out := make(map[string]map[string]string, len(o.byID))
	for id, r := range o.byID {
		out[id] = o.fieldsOf(r)
	}
	return out
}

// SetKeepLog turns the upload log on or off (a benchmark keeps it only for
// the run it checks).
func (s *Server) SetKeepLog(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.KeepLog = on
}

// Lookup returns the record whose external ID field holds value, or nil.
func (s *Server) Lookup(object, field, value string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.objects[strings.ToLower(object)]
	if o == nil {
		return nil
	}
	i, f := o.field(field)
	if f == nil || !f.ExternalID {
		return nil
	}
	id, ok := o.byExt[i][strings.ToLower(value)]
	if !ok {
		return nil
	}
	return o.fieldsOf(o.byID[id])
}

// Count is how many live records object has.
func (s *Server) Count(object string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := s.objects[strings.ToLower(object)]; o != nil {
		return len(o.byID)
	}
	return 0
}

// Deleted returns the IDs in object's recycle bin (soft deletes; a
// hardDelete leaves none).
func (s *Server) Deleted(object string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.objects[strings.ToLower(object)]
	if o == nil {
		return nil
	}
	out := make([]string, 0, len(o.bin))
	for id := range o.bin {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// Put creates records directly (test set-up), returning their IDs.
func (s *Server) Put(object string, recs ...map[string]string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.objects[strings.ToLower(object)]
	var ids []string
	for _, r := range recs {
		id := s.newID(o)
		o.store(id, nil, r)
		ids = append(ids, id)
	}
	return ids
}

// newID makes an 18-character record ID; s.mu held.
func (s *Server) newID(o *objStore) string {
	s.seq++
	return fmt.Sprintf("%s%012d%s", o.def.KeyPrefix, s.seq, "AAA")
}

// invalid counts a malformed request; s.mu held.
func (s *Server) invalid(why string) {
	s.stats.Invalid++
	if len(s.stats.InvalidReasons) < 50 {
		s.stats.InvalidReasons = append(s.stats.InvalidReasons, why)
	}
}

// objStore holds one object's records. A record's values are one byte
// string: per set field, its index and its text, length-prefixed.
type objStore struct {
	def     Object
	index   map[string]int // lower-case field name → index
	byID    map[string][]byte
	byExt   map[int]map[string]string // external ID field → value → Id
	bin     map[string]bool
	extKeys []int
}

func newObjStore(o Object) *objStore {
	st := &objStore{def: o, index: map[string]int{}, byID: map[string][]byte{}, byExt: map[int]map[string]string{}, bin: map[string]bool{}}
	for i, f := range o.Fields {
		st.index[strings.ToLower(f.Name)] = i
		if f.ExternalID {
			st.byExt[i] = map[string]string{}
			st.extKeys = append(st.extKeys, i)
		}
	}
	return st
}

func (o *objStore) field(name string) (int, *Field) {
	i, ok := o.index[strings.ToLower(name)]
	if !ok {
		return -1, nil
	}
	return i, &o.def.Fields[i]
}

// decode returns a record's values by field index.
func decode(b []byte) map[int]string {
	out := map[int]string{}
	for len(b) > 0 {
		idx, n := binary.Uvarint(b)
		b = b[n:]
		l, n := binary.Uvarint(b)
		b = b[n:]
		out[int(idx)] = string(b[:l])
		b = b[l:]
	}
	return out
}

func encode(vals map[int]string) []byte {
	idx := make([]int, 0, len(vals))
	size := 0
	for i, v := range vals {
		idx = append(idx, i)
		size += len(v) + 4
	}
	sort.Ints(idx)
	out := make([]byte, 0, size)
	for _, i := range idx {
		out = binary.AppendUvarint(out, uint64(i))
		out = binary.AppendUvarint(out, uint64(len(vals[i])))
		out = append(out, vals[i]...)
	}
	return out
}

func (o *objStore) fieldsOf(b []byte) map[string]string {
	out := map[string]string{}
	for i, v := range decode(b) {
		out[o.def.Fields[i].Name] = v
	}
	return out
}

// store writes record id: old's values (nil for a new record) with set
// applied by field name ("" value: null); external ID indexes follow.
func (o *objStore) store(id string, old []byte, set map[string]string) {
	vals := decode(old)
	for name, v := range set {
		i, _ := o.field(name)
		if i < 0 {
			continue
		}
		if ext, ok := o.byExt[i]; ok {
			if prev, had := vals[i]; had {
				delete(ext, strings.ToLower(prev))
			}
			if v != "" {
				ext[strings.ToLower(v)] = id
			}
		}
		if v == "" {
			delete(vals, i)
		} else {
			vals[i] = v
		}
	}
	o.byID[id] = encode(vals)
}

func (o *objStore) remove(id string, hard bool) {
	vals := decode(o.byID[id])
	for _, i := range o.extKeys {
		if v, ok := vals[i]; ok {
			delete(o.byExt[i], strings.ToLower(v))
		}
	}
	delete(o.byID, id)
	if !hard {
		o.bin[id] = true
	}
}

// Handler routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/services/oauth2/token" {
		s.token(w, r)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/services/data/v")
	if !ok {
		s.fail(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	version, rest, _ := strings.Cut(rest, "/")
	if !strings.HasSuffix(version, ".0") {
		s.fail(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	if !s.session(w, r) {
		return
	}
	s.mu.Lock()
	s.stats.Requests++
	n := s.stats.Requests
	errEvery := s.cfg.ErrorEvery
	s.mu.Unlock()
	w.Header().Set("Sforce-Limit-Info", fmt.Sprintf("api-usage=%d/%d", n, s.cfg.DailyAPIRequests))
	if n > s.cfg.DailyAPIRequests {
		s.fail(w, http.StatusForbidden, "REQUEST_LIMIT_EXCEEDED", fmt.Sprintf("TotalRequests Limit exceeded."))
		return
	}
	if errEvery > 0 && n%errEvery == 0 {
		s.count("5xx")
		s.fail(w, http.StatusServiceUnavailable, "SERVER_UNAVAILABLE", "Server temporarily unavailable")
		return
	}
	parts := strings.Split(strings.Trim(rest, "/"), "/")
	switch {
	case rest == "limits" || rest == "limits/":
		s.limits(w, r)
	case len(parts) == 3 && parts[0] == "sobjects" && parts[2] == "describe":
		s.describe(w, r, parts[1])
	case parts[0] == "query":
		s.query(w, r)
	case len(parts) >= 2 && parts[0] == "composite" && parts[1] == "sobjects":
		s.collections(w, r, parts[2:])
	case len(parts) >= 2 && parts[0] == "jobs" && parts[1] == "ingest":
		s.ingest(w, r, parts[2:], version)
	default:
		s.fail(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
	}
}

func (s *Server) count(endpoint string) {
	s.mu.Lock()
	s.stats.ByEndpoint[endpoint]++
	s.mu.Unlock()
}

// session checks the bearer token.
func (s *Server) session(w http.ResponseWriter, r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	exp, known := s.tokens[tok]
	expired := known && !exp.IsZero() && time.Now().After(exp)
	if expired {
		s.stats.Expired++
	}
	s.mu.Unlock()
	if !ok || !known || expired {
		s.fail(w, http.StatusUnauthorized, "INVALID_SESSION_ID", "Session expired or invalid")
		return false
	}
	return true
}
