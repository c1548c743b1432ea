// Package hubspottest is a fake HubSpot CRM v3 API for tests, benchmarks and
// demos of hoist's hubspot destination, written from HubSpot's public API
// reference: private-app bearer tokens; the objects batch endpoints
// (upsert by a unique idProperty, update, archive, read, create) on
// contacts, companies, deals, tickets and custom object types; the
// properties API; 207 multi-status answers whose errors name their records'
// ids in context (in no order); the ten-secondly rolling and daily request
// limits with their X-HubSpot-RateLimit-* headers and 429 policy names.
// Every request body is validated against the documented request schemas
// (schemas.go) and every property value against its property's type and
// options, and the counters say how many requests were invalid, so a test
// can hold a client to "no request is ever invalid". Seeded faults: 5xx,
// slow answers, answers that never come (after the write was applied),
// connection resets, bursts of ten-secondly 429s.
package hubspottest

import (
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	stdsync "sync"
	"time"
)

// Tiers are the limits (requests per ten seconds per app, per day per
// account) as HubSpot's usage guidelines give them for private apps.
var Tiers = map[string][2]int{
	"free":         {100, 250_000},
	"starter":      {100, 250_000},
	"professional": {190, 625_000},
	"enterprise":   {190, 1_000_000},
	"api_add_on":   {250, 1_000_000},
}

// Config sets a fake up. The zero value is a Professional account with no
// token check and no faults.
type Config struct {
	// Token, when set, is the private app token every request must carry
	// as "Authorization: Bearer <Token>".
	Token string
	// Tier picks the default limits (default professional).
	Tier string
	// TenSecondly and Daily override the tier's limits (-1: none).
	TenSecondly, Daily int
	// Properties adds properties to (or defines) object types' catalogs,
	// beside the standard ones.
	Properties map[string][]Property
	// Seed makes faults reproducible.
	Seed uint64
	// ErrorRate: fraction of requests answered 500/502/503 unapplied.
	ErrorRate float64
	// SlowRate: fraction delayed by SlowDelay (default 100ms).
	SlowRate  float64
	SlowDelay time.Duration
	// TimeoutRate: fraction applied and never answered (the handler waits
	// until the client gives up, or Hang, default 30s).
	TimeoutRate float64
	Hang        time.Duration
	// ResetEvery resets the connection of every Nth request.
	ResetEvery int
	// Throttle429Every starts, every Nth request, a burst of Throttle429Len
	// (default 5) ten-secondly 429s.
	Throttle429Every int
	Throttle429Len   int
	// WholeBatch400 refuses a whole batch holding an invalid record with
	// 400 (as batch/create does), instead of a 207 naming the records.
	WholeBatch400 bool
	// KeepLog keeps every applied batch's inputs (Log), for tests.
	KeepLog bool
}

// Stats counts what the server saw.
type Stats struct {
	Requests int64
	// Invalid counts requests refused for their shape (a body not matching
	// its endpoint's documented schema, duplicate ids, an unknown idProperty):
	// a correct client sends none.
	Invalid    int64
	ByEndpoint map[string]int64
	ByStatus   map[int]int64
	// Inputs counts records in applied batch requests.
	Inputs int64
	// RejectedRecords counts records a 207 or 400 refused for their values.
	RejectedRecords int64
	// MaxPer10s is the most requests that arrived within any ten seconds.
	MaxPer10s int
	// Limited counts 429s for the ten-secondly limit, DailyLimited for the
	// daily one (the injected bursts are Injected429).
	Limited, DailyLimited            int64
	Injected5xx, Injected429, Resets int64
	Slow, Timeouts                   int64
	PerSecond                        []int // arrivals per second since the first request
	// OKPerSecond counts the requests answered 2xx, by the second (since
	// the first request) they arrived in.
	OKPerSecond                           []int
	First, Last                           time.Time
	InvalidReasons                        []string // the first few
	DailyUsed                             int
	TenSecondlyLimit, DailyLimit          int
	ArchivedRecords, LiveRecords, Objects int
}

// Record is a stored object.
type Record struct {
	ID         string            `json:"id"`
	Properties map[string]string `json:"properties"`
	CreatedAt  time.Time         `json:"createdAt"`
	UpdatedAt  time.Time         `json:"updatedAt"`
	Archived   bool              `json:"archived"`
}

// LogEntry is one applied batch request.
type LogEntry struct {
	Object, Endpoint string
	Inputs           []Input
}

// Input is one input of a batch request, as sent.
type Input struct {
	ID, IDProperty, TraceID string
	Properties              map[string]string
}

// Server is a running fake.
type Server struct {
	// URL is the base URL of a server started by New.
	URL string

	cfg Config
	ts  *httptest.Server
	mux *http.ServeMux

	mu       stdsync.Mutex
	rng      *rand.Rand
	catalogs map[string][]Property
	index    map[string]map[string]int // object type → property name → catalog index
	objects  map[string]*store
	nextID   int64
	stats    Stats
	window   []time.Time // accepted requests of the last ten seconds
	arrivals []time.Time // every arrival of the last ten seconds
	day      string
	throttle int
	log      []LogEntry
}

// store is one object type's records.
type store struct {
	records map[string]*Record           // by ID, live and archived
	unique  map[string]map[string]string // unique property → value → ID (live only)
}

// New starts a fake on a loopback port; Close stops it.
func New(cfg Config) *Server {
	s := NewHandler(cfg)
	s.ts = httptest.NewServer(s)
	s.URL = s.ts.URL
	return s
}

// NewHandler returns the fake without a listener (cmd/fakehubspot serves it).
func NewHandler(cfg Config) *Server {
	if cfg.Tier == "" {
		cfg.Tier = "professional"
	}
	lim, ok := Tiers[cfg.Tier]
	if !ok {
		lim = Tiers["professional"]
	}
	if cfg.TenSecondly == 0 {
		cfg.TenSecondly = lim[0]
	}
	if cfg.Daily == 0 {
		cfg.Daily = lim[1]
	}
	if cfg.SlowDelay <= 0 {
		cfg.SlowDelay = 100 * time.Millisecond
	}
	if cfg.Hang <= 0 {
		cfg.Hang = 30 * time.Second
	}
	if cfg.Throttle429Len <= 0 {
		cfg.Throttle429Len = 5
	}
	s := &Server{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		catalogs: map[string][]Property{}, objects: map[string]*store{}, nextID: 1000}
	s.stats.ByEndpoint, s.stats.ByStatus = map[string]int64{}, map[int]int64{}
	for _, t := range []string{"contacts", "companies", "deals", "tickets"} {
		s.catalogs[t] = defaultProperties(t)
	}
	for t, props := range cfg.Properties {
		if _, ok := s.catalogs[t]; !ok {
			s.catalogs[t] = defaultProperties(t)
		}
		s.catalogs[t] = append(s.catalogs[t], props...)
	}
	s.index = map[string]map[string]int{}
	for t, cat := range s.catalogs {
		s.index[t] = map[string]int{}
		for i, p := range cat {
			s.index[t][p.Name] = i
		}
	}
	s.mux = s.routes()
	return s
}

// Close stops a server started by New.
func (s *Server) Close() {
	if s.ts != nil {
		s.ts.CloseClientConnections()
		s.ts.Close()
	}
}

// property finds a property of objectType; s.mu held.
func (s *Server) property(objectType, name string) *Property {
	if i, ok := s.index[objectType][name]; ok {
		return &s.catalogs[objectType][i]
	}
	return nil
}

// objectStore returns objectType's records, or nil for an unknown type;
// s.mu held.
func (s *Server) objectStore(objectType string) *store {
	if _, ok := s.catalogs[objectType]; !ok {
		return nil
	}
	st := s.objects[objectType]
	if st == nil {
		st = &store{records: map[string]*Record{}, unique: map[string]map[string]string{}}
		s.objects[objectType] = st
	}
	return st
}

// Records returns a copy of objectType's live records by ID.
func (s *Server) Records(objectType string) map[string]Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]Record{}
	if st := s.objects[objectType]; st != nil {
		for id, r := range st.records {
			if !r.Archived {
				out[id] = r.copy()
			}
		}
	}
	return out
}

// Archived returns the IDs of objectType's archived records, sorted.
func (s *Server) Archived(objectType string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	if st := s.objects[objectType]; st != nil {
		for id, r := range st.records {
			if r.Archived {
				out = append(out, id)
			}
		}
	}
	sort.Strings(out)
	return out
}

// Put stores records directly (fixtures), returning their IDs.
func (s *Server) Put(objectType string, props ...map[string]string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.objectStore(objectType)
	var ids []string
	for _, p := range props {
		ids = append(ids, s.create(objectType, st, p).ID)
	}
	return ids
}

// Archive archives a record behind the client's back (drift).
func (s *Server) Archive(objectType, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.objects[objectType]; st != nil {
		s.archive(objectType, st, id)
	}
}

// Log returns the applied batch requests (Config.KeepLog).
func (s *Server) Log() []LogEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

// ResetLog forgets the log.
func (s *Server) ResetLog() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = nil
}

// NewDay starts a new day for the daily limit.
func (s *Server) NewDay() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.DailyUsed = 0
	s.day = ""
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.ByEndpoint, st.ByStatus = map[string]int64{}, map[int]int64{}
	for k, v := range s.stats.ByEndpoint {
		st.ByEndpoint[k] = v
	}
	for k, v := range s.stats.ByStatus {
		st.ByStatus[k] = v
	}
	st.PerSecond = slices.Clone(s.stats.PerSecond)
	st.OKPerSecond = slices.Clone(s.stats.OKPerSecond)
	st.InvalidReasons = slices.Clone(s.stats.InvalidReasons)
	st.TenSecondlyLimit, st.DailyLimit = s.cfg.TenSecondly, s.cfg.Daily
	st.Objects = len(s.objects)
	for _, o := range s.objects {
		for _, r := range o.records {
			if r.Archived {
				st.ArchivedRecords++
			} else {
				st.LiveRecords++
			}
		}
	}
	return st
}

func (r *Record) copy() Record {
	c := *r
	c.Properties = make(map[string]string, len(r.Properties))
	for k, v := range r.Properties {
		c.Properties[k] = v
	}
	return c
}

// uniqueProps are objectType's unique properties; s.mu held.
func (s *Server) uniqueProps(objectType string) []string {
	var out []string
	for _, p := range s.catalogs[objectType] {
		if p.Unique {
			out = append(out, p.Name)
		}
	}
	return out
}

// create stores a new record; s.mu held, props valid.
func (s *Server) create(objectType string, st *store, props map[string]string) *Record {
	s.nextID++
	now := time.Now().UTC()
	r := &Record{ID: itoa(s.nextID), Properties: map[string]string{}, CreatedAt: now, UpdatedAt: now}
	st.records[r.ID] = r
	s.set(objectType, st, r, props)
	r.Properties["hs_object_id"] = r.ID
	r.Properties["createdate"] = now.Format("2006-01-02T15:04:05.000Z")
	return r
}

// set writes props into r (valid, normalized); "" clears. s.mu held.
func (s *Server) set(objectType string, st *store, r *Record, props map[string]string) {
	for k, v := range props {
		p := s.property(objectType, k)
		v = normalize(p, v)
		if p.Unique {
			idx := st.unique[k]
			if idx == nil {
				idx = map[string]string{}
				st.unique[k] = idx
			}
			if old, ok := r.Properties[k]; ok && idx[old] == r.ID {
				delete(idx, old)
			}
			if v != "" {
				idx[v] = r.ID
			}
		}
		if v == "" {
			delete(r.Properties, k)
		} else {
			r.Properties[k] = v
		}
	}
	r.UpdatedAt = time.Now().UTC()
	r.Properties["hs_lastmodifieddate"] = r.UpdatedAt.Format("2006-01-02T15:04:05.000Z")
}

// archive archives a live record; s.mu held.
func (s *Server) archive(objectType string, st *store, id string) bool {
	r := st.records[id]
	if r == nil || r.Archived {
		return false
	}
	r.Archived = true
	for _, u := range s.uniqueProps(objectType) {
		if v, ok := r.Properties[u]; ok && st.unique[u][v] == id {
			delete(st.unique[u], v)
		}
	}
	return true
}

// find looks a live record up by idProperty ("" or hs_object_id: by ID).
func (s *Server) find(objectType string, st *store, idProperty, id string) *Record {
	if idProperty == "" || idProperty == "hs_object_id" {
		if r := st.records[id]; r != nil && !r.Archived {
			return r
		}
		return nil
	}
	p := s.property(objectType, idProperty)
	if p == nil {
		return nil
	}
	if rid, ok := st.unique[idProperty][normalize(p, id)]; ok {
		return st.records[rid]
	}
	return nil
}

func itoa(n int64) string {
	var b [20]byte
	i := len(b)
	for n >= 10 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	i--
	b[i] = byte('0' + n)
	return string(b[i:])
}

// objectTypeOf is the object type segment of a path.
func objectTypeOf(r *http.Request) string { return strings.ToLower(r.PathValue("objectType")) }
