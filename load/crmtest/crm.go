// Package crmtest is a fake CRM API for tests, benchmarks and demos of the
// http connector: records stored by key in memory, batched and per-record
// writes, paginated listing in every style hoist reads, a token-bucket rate
// limit answering 429 + Retry-After, and seeded fault injection (5xx, slow
// answers, hangs past the client's timeout, connection resets, bursts of
// 429, validation errors). It counts every request and the most it saw in
// any one-second window, so tests can check a client's pacing.
package crmtest

import (
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"regexp"
	stdsync "sync"
	"time"

	"golang.org/x/time/rate"
)

// Config sets up a fake CRM. The zero value is a well-behaved API with no
// limit and no faults.
type Config struct {
	// Seed makes fault injection reproducible.
	Seed uint64
	// KeyField is the record field holding its key (default "id").
	KeyField string
	// Token, when set, is required as "Authorization: Bearer <Token>".
	Token string
	// EchoAuth makes 4xx bodies quote the Authorization header back, as
	// careless APIs do, to test that clients scrub it.
	EchoAuth bool

	// RateLimit (requests per second) and Burst configure the token bucket;
	// a request finding it empty gets 429 with Retry-After. 0: no limit.
	RateLimit float64
	Burst     int

	// ErrorRate is the fraction of requests answered 500, 502 or 503 before
	// anything is applied.
	ErrorRate float64
	// SlowRate is the fraction of requests delayed by SlowDelay (default 50ms).
	SlowRate  float64
	SlowDelay time.Duration
	// TimeoutRate is the fraction of requests that are applied and then never
	// answered: the handler hangs until the client gives up (or Hang, default
	// 30s), so the client must retry something that did happen.
	TimeoutRate float64
	Hang        time.Duration
	// ResetEvery answers every Nth request by resetting the TCP connection.
	ResetEvery int
	// Throttle429Every starts, every Nth request, a burst of Throttle429Len
	// (default 5) requests answered 429 with Retry-After: 1, like an API
	// shedding load for a moment.
	Throttle429Every int
	Throttle429Len   int

	// RowErrors answers a batch holding invalid records (malformed email)
	// with 207 and per-row errors at "errors", applying the valid ones;
	// otherwise the whole batch is refused with 400.
	RowErrors bool
	// PageSize is the default page size of listings (default 50).
	PageSize int
	// Validate, when set, is one more rule a record must pass, besides a
	// key and a well-formed email: a non-empty answer says why it is
	// invalid, and the record is refused like a malformed email.
	Validate func(record map[string]any) string
}

// Stats counts what the server saw.
type Stats struct {
	Requests     int64
	ByStatus     map[int]int64
	MaxPerSecond int // most requests that arrived within any one second
	RateLimited  int64
	Injected5xx  int64
	Injected429  int64
	Slow         int64
	Timeouts     int64
	Resets       int64
	Replays      int64 // requests answered from the idempotency cache
	// Routes counts answered requests by route ("POST /contacts",
	// "PATCH /people/{id}"), so tests can tell which verb took which row.
	Routes map[string]int64
	// PerSecond counts arrivals per second since the first request (the
	// first hour), to show how steady a client's rate is.
	PerSecond []int
}

// Server is a running fake CRM.
type Server struct {
	// URL is the base URL of the server started by New.
	URL string

	cfg     Config
	ts      *httptest.Server
	limiter *rate.Limiter
	mux     *http.ServeMux

	mu          stdsync.Mutex
	rng         *rand.Rand
	records     map[string]map[string]any
	idem        map[string]replay
	stats       Stats
	window      []time.Time // arrivals of the last second
	first       time.Time
	throttleFor int // injected 429s still to send

	// people are records under IDs the server assigns (people.go)
	people   map[string]map[string]any
	personID int
}

type replay struct {
	status int
	body   []byte
}

var emailRe = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)

// New starts a fake CRM on a loopback port; Close stops it.
func New(cfg Config) *Server {
	s := NewHandler(cfg)
	s.ts = httptest.NewServer(s)
	s.URL = s.ts.URL
	return s
}

// NewHandler returns the fake as an http.Handler without starting a
// listener (cmd/fakecrm serves it on a fixed address).
func NewHandler(cfg Config) *Server {
	if cfg.KeyField == "" {
		cfg.KeyField = "id"
	}
	if cfg.SlowDelay <= 0 {
		cfg.SlowDelay = 50 * time.Millisecond
	}
	if cfg.Hang <= 0 {
		cfg.Hang = 30 * time.Second
	}
	if cfg.Throttle429Len <= 0 {
		cfg.Throttle429Len = 5
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 50
	}
	s := &Server{
		cfg:     cfg,
		rng:     rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5851f42d4c957f2d)),
		records: map[string]map[string]any{},
		idem:    map[string]replay{},
		stats:   Stats{ByStatus: map[int]int64{}, Routes: map[string]int64{}},
		people:  map[string]map[string]any{},
	}
	if cfg.RateLimit > 0 {
		s.limiter = rate.NewLimiter(rate.Limit(cfg.RateLimit), max(cfg.Burst, 1))
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("POST /contacts/batch", s.on(s.batchUpsert))
	s.mux.HandleFunc("POST /contacts/batch/delete", s.on(s.batchDelete))
	s.mux.HandleFunc("POST /contacts", s.on(s.create))
	s.mux.HandleFunc("PUT /contacts/{id}", s.on(s.put))
	s.mux.HandleFunc("PATCH /contacts/{id}", s.on(s.patch))
	s.mux.HandleFunc("DELETE /contacts/{id}", s.on(s.delete))
	s.mux.HandleFunc("GET /contacts/{id}", s.on(s.get))
	s.mux.HandleFunc("GET /contacts", s.on(s.list))
	s.peopleRoutes()
	return s
}

// Close stops the server started by New.
func (s *Server) Close() {
	if s.ts != nil {
		s.ts.CloseClientConnections()
		s.ts.Close()
	}
}

// Put stores records directly (fixtures for source tests); each must hold
// the key field.
func (s *Server) Put(records ...map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range records {
		s.records[keyString(r[s.cfg.KeyField])] = clone(r)
	}
}

// Records returns a copy of every stored record by key.
func (s *Server) Records() map[string]map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]map[string]any, len(s.records))
	for k, r := range s.records {
		out[k] = clone(r)
	}
	return out
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.ByStatus = make(map[int]int64, len(s.stats.ByStatus))
	for k, v := range s.stats.ByStatus {
		st.ByStatus[k] = v
	}
	st.PerSecond = append([]int(nil), s.stats.PerSecond...)
	st.Routes = make(map[string]int64, len(s.stats.Routes))
	for k, v := range s.stats.Routes {
		st.Routes[k] = v
	}
	return st
}

func clone(r map[string]any) map[string]any {
	b, _ := json.Marshal(r)
	var out map[string]any
	_ = decode(b, &out)
	return out
}

// Remove deletes a record behind the client's back (drift); it reports
// whether the key was there.
func (s *Server) Remove(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.records[key]
	delete(s.records, key)
	return ok
}
