package snowflaketest

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	stdsync "sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/golang-jwt/jwt/v5"
)

// Defaults for Options left zero.
const (
	DefaultUser      = "hoist"
	DefaultPassword  = "hoist-secret"
	DefaultChunkRows = 100_000
	// DefaultTimezone is Snowflake's own default session time zone; the
	// fake uses it unless the client asks for another in SESSION_PARAMETERS.
	DefaultTimezone = "America/Los_Angeles"
	// recordRows is the rows per Arrow record batch inside one chunk: real
	// chunks carry several batches, and the driver must read them all.
	recordRows = 4096
)

// Failure makes one chunk download fail.
type Failure struct {
	// Status is the HTTP status to answer; 0 sends 200 and then cuts the
	// gzipped body short (a connection dropped mid-download).
	Status int
}

// Options configure a fake server.
type Options struct {
	User, Password string
	// PublicKey, when set, lets User log in with key-pair (JWT) auth.
	PublicKey *rsa.PublicKey
	// InlineRows go into the query response's rowsetBase64; the rest are
	// served as remote chunks of ChunkRows rows.
	InlineRows int
	ChunkRows  int
	// ChunkLatency delays every chunk download; ChunkLatencyFor, when set,
	// gives chunk idx its own delay instead (e.g. later chunks faster, to
	// test that a client keeps result order).
	ChunkLatency    time.Duration
	ChunkLatencyFor func(idx int) time.Duration
	// FailChunkOnce fails the first download of the chunks with these indexes.
	FailChunkOnce map[int]Failure
	// CacheChunks keeps each encoded chunk of a plain table scan, so later
	// queries are served like files from a stage (cheaply) rather than
	// generated again; benchmarks use it to measure the client, not the fake.
	CacheChunks bool
	// LoginDelay delays every login answer (to test client timeouts).
	LoginDelay time.Duration
	Tables     []*Table
}

// Request is one HTTP request the fake received.
type Request struct {
	Method, Path, RawQuery, Host string
	Header                       http.Header
	Body                         []byte
}

// Server is a running fake Snowflake.
type Server struct {
	// URL is the server's base URL, http://127.0.0.1:PORT.
	URL string

	opts Options
	srv  *httptest.Server

	mu       stdsync.Mutex
	tables   map[string]*Table
	sessions map[string]string // token → session timezone
	queries  map[string]*query
	failed   map[int]bool
	cache    map[string][]byte
	requests []Request
	// inflight counts chunk downloads being served; peakInflight is its maximum.
	inflight, peakInflight int
}

type query struct {
	res  *result
	qrmk string
	// chunks[i] is the first row of remote chunk i.
	chunks []int
}

// New starts a fake server on a free 127.0.0.1 port; Close stops it.
func New(opts Options) *Server {
	s := newServer(opts)
	s.srv.Start()
	s.URL = s.srv.URL
	return s
}

// Listen starts a fake server on addr (host:port), for the demo command.
func Listen(addr string, opts Options) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("fake snowflake: %w", err)
	}
	s := newServer(opts)
	s.srv.Listener.Close()
	s.srv.Listener = ln
	s.srv.Start()
	s.URL = s.srv.URL
	return s, nil
}

func newServer(opts Options) *Server {
	if opts.User == "" {
		opts.User = DefaultUser
	}
	if opts.Password == "" {
		opts.Password = DefaultPassword
	}
	if opts.ChunkRows <= 0 {
		opts.ChunkRows = DefaultChunkRows
	}
	s := &Server{
		opts:     opts,
		tables:   map[string]*Table{},
		sessions: map[string]string{},
		queries:  map[string]*query{},
		failed:   map[int]bool{},
		cache:    map[string][]byte{},
	}
	for _, t := range opts.Tables {
		s.tables[t.Name] = t
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /session/v1/login-request", s.login)
	mux.HandleFunc("POST /queries/v1/query-request", s.query)
	mux.HandleFunc("GET /chunks/{qid}/{idx}", s.chunk)
	mux.HandleFunc("POST /session", s.ok)
	mux.HandleFunc("POST /session/heartbeat", s.ok)
	mux.HandleFunc("POST /telemetry/send", s.ok)
	mux.HandleFunc("POST /queries/v1/abort-request", s.ok)
	s.srv = httptest.NewUnstartedServer(s.record(mux))
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// AddTable adds or replaces a table.
func (s *Server) AddTable(t *Table) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tables[t.Name] = t
}

// HostPort returns "127.0.0.1:PORT".
func (s *Server) HostPort() string { return strings.TrimPrefix(s.URL, "http://") }

// Port returns the TCP port.
func (s *Server) Port() int {
	_, p, _ := strings.Cut(s.HostPort(), ":")
	n, _ := strconv.Atoi(p)
	return n
}

// DSN returns a gosnowflake DSN for the fake with the configured user and
// password, database and schema as given, over plain HTTP.
func (s *Server) DSN(database, schema string) string {
	u := url.UserPassword(s.opts.User, s.opts.Password)
	return fmt.Sprintf("%s@%s/%s/%s?account=fake&protocol=http", u.String(), s.HostPort(), database, schema)
}

// PeakChunkDownloads returns the most chunk downloads served at once.
func (s *Server) PeakChunkDownloads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peakInflight
}

// Requests returns every request received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

func (s *Server) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		s.mu.Lock()
		s.requests = append(s.requests, Request{
			Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Host: r.Host,
			Header: r.Header.Clone(), Body: body,
		})
		s.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, code, msg string) {
	writeJSON(w, map[string]any{"success": false, "code": code, "message": msg, "data": nil})
}

func (s *Server) ok(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, map[string]any{"success": true, "code": nil, "message": nil, "data": nil})
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

type loginBody struct {
	Data struct {
		LoginName         string         `json:"LOGIN_NAME"`
		Password          string         `json:"PASSWORD"`
		Authenticator     string         `json:"AUTHENTICATOR"`
		Token             string         `json:"TOKEN"`
		SessionParameters map[string]any `json:"SESSION_PARAMETERS"`
	} `json:"data"`
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if s.opts.LoginDelay > 0 {
		select {
		case <-time.After(s.opts.LoginDelay):
		case <-r.Context().Done():
			return
		}
	}
	var body loginBody
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		fail(w, "390100", "bad login request: "+err.Error())
		return
	}
	d := body.Data
	if !s.authenticated(d.LoginName, d.Authenticator, d.Password, d.Token) {
		fail(w, "390100", "Incorrect username or password was specified.")
		return
	}
	tz := DefaultTimezone
	if v, ok := d.SessionParameters["TIMEZONE"].(string); ok && v != "" {
		tz = v
	}
	token := randHex(16)
	s.mu.Lock()
	s.sessions[token] = tz
	s.mu.Unlock()
	writeJSON(w, map[string]any{"success": true, "data": map[string]any{
		"token": token, "masterToken": randHex(16), "sessionId": 1,
		"validityInSeconds": 3600, "masterValidityInSeconds": 14400,
		"parameters":  []map[string]any{{"name": "TIMEZONE", "value": tz}},
		"sessionInfo": map[string]any{"databaseName": "", "schemaName": "", "warehouseName": "", "roleName": ""},
	}})
}

// authenticated checks a user and password, or for SNOWFLAKE_JWT a token
// signed by the configured key whose subject is ACCOUNT.USER (the driver
// sends no LOGIN_NAME with key-pair auth).
func (s *Server) authenticated(user, authenticator, password, token string) bool {
	if strings.EqualFold(authenticator, "SNOWFLAKE_JWT") {
		if s.opts.PublicKey == nil || token == "" {
			return false
		}
		tok, err := jwt.Parse(token, func(*jwt.Token) (any, error) { return s.opts.PublicKey, nil },
			jwt.WithValidMethods([]string{"RS256"}))
		if err != nil {
			return false
		}
		sub, _ := tok.Claims.GetSubject()
		return strings.HasSuffix(sub, "."+strings.ToUpper(s.opts.User))
	}
	return user == s.opts.User && password == s.opts.Password
}

func (s *Server) session(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	token := strings.TrimSuffix(strings.TrimPrefix(h, `Snowflake Token="`), `"`)
	s.mu.Lock()
	defer s.mu.Unlock()
	tz, ok := s.sessions[token]
	return tz, ok
}

type queryBody struct {
	SQLText  string             `json:"sqlText"`
	Bindings map[string]binding `json:"bindings"`
}

func (s *Server) query(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.session(r); !ok {
		fail(w, "390104", "User must login again to access the service.")
		return
	}
	var body queryBody
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		fail(w, "001003", "bad query request: "+err.Error())
		return
	}
	res, err := s.run(body.SQLText, body.Bindings)
	if err != nil {
		if se, ok := err.(*sqlError); ok {
			fail(w, se.code, se.msg)
			return
		}
		fail(w, "000603", "fake snowflake internal error: "+err.Error())
		return
	}
	qid := "01fa4e" + randHex(12)
	q := &query{res: res, qrmk: base64.StdEncoding.EncodeToString([]byte(randHex(16)))}
	inline := min(s.opts.InlineRows, res.rows)
	if res.rows == 1 && len(res.cols) == 1 && res.cols[0].Name == "1" {
		inline = 1 // SELECT 1 always answers inline, like Snowflake.
	}
	rowset := ""
	if inline > 0 {
		var buf bytes.Buffer
		if err := s.encode(&buf, res, 0, inline); err != nil {
			fail(w, "000603", "fake snowflake: encode rowset: "+err.Error())
			return
		}
		rowset = base64.StdEncoding.EncodeToString(buf.Bytes())
	}
	var chunks []map[string]any
	for off := inline; off < res.rows; off += s.opts.ChunkRows {
		n := min(s.opts.ChunkRows, res.rows-off)
		chunks = append(chunks, map[string]any{
			"url":              fmt.Sprintf("%s/chunks/%s/%d", s.URL, qid, len(q.chunks)),
			"rowCount":         n,
			"uncompressedSize": n * 64,
			"compressedSize":   n * 16,
		})
		q.chunks = append(q.chunks, off)
	}
	s.mu.Lock()
	s.queries[qid] = q
	s.mu.Unlock()
	rowtype := make([]map[string]any, len(res.cols))
	for i, c := range res.cols {
		rowtype[i] = map[string]any{
			"name": c.Name, "type": c.Type, "precision": c.Precision, "scale": c.Scale,
			"nullable": c.Nullable, "length": textLength(c.Type), "byteLength": textLength(c.Type),
		}
	}
	writeJSON(w, map[string]any{"success": true, "code": nil, "message": nil, "data": map[string]any{
		"queryId": qid, "queryResultFormat": "arrow", "statementTypeId": 4096,
		"rowtype": rowtype, "rowsetBase64": rowset, "total": res.rows, "returned": res.rows,
		"chunks": chunks,
		"chunkHeaders": map[string]string{
			"x-amz-server-side-encryption-customer-algorithm": "AES256",
			"x-amz-server-side-encryption-customer-key":       q.qrmk,
		},
		"parameters": []map[string]any{},
	}})
}

func textLength(typ string) int {
	switch typ {
	case Text, Variant, Object, Array, Binary:
		return 16777216
	}
	return 0
}

// encode writes rows [off, off+n) as one Arrow IPC stream in wire form.
// Integer widths are chosen over the whole range (a stream has one
// schema), then written as several record batches like Snowflake does.
func (s *Server) encode(w io.Writer, res *result, off, n int) error {
	mem := memory.NewGoAllocator()
	logical := res.slice(mem, off, n)
	wire, err := toWire(mem, res.cols, logical)
	logical.Release()
	if err != nil {
		return err
	}
	defer wire.Release()
	iw := ipc.NewWriter(w, ipc.WithSchema(wire.Schema()), ipc.WithAllocator(mem))
	for start := int64(0); start < wire.NumRows(); start += recordRows {
		part := wire.NewSlice(start, min(start+recordRows, wire.NumRows()))
		err := iw.Write(part)
		part.Release()
		if err != nil {
			return err
		}
	}
	return iw.Close()
}

func (s *Server) chunk(w http.ResponseWriter, r *http.Request) {
	qid := r.PathValue("qid")
	idx, err := strconv.Atoi(r.PathValue("idx"))
	s.mu.Lock()
	q := s.queries[qid]
	s.mu.Unlock()
	if err != nil || q == nil || idx < 0 || idx >= len(q.chunks) {
		http.Error(w, "NoSuchKey", http.StatusNotFound)
		return
	}
	if r.Header.Get("x-amz-server-side-encryption-customer-key") != q.qrmk {
		http.Error(w, "AccessDenied: missing or wrong SSE-C key", http.StatusForbidden)
		return
	}
	s.mu.Lock()
	s.inflight++
	s.peakInflight = max(s.peakInflight, s.inflight)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inflight--
		s.mu.Unlock()
	}()
	d := s.opts.ChunkLatency
	if s.opts.ChunkLatencyFor != nil {
		d = s.opts.ChunkLatencyFor(idx)
	}
	if d > 0 {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
	}
	failure, failNow := s.takeFailure(idx)
	if failNow && failure.Status != 0 {
		http.Error(w, "injected failure", failure.Status)
		return
	}
	off := q.chunks[idx]
	n := min(s.opts.ChunkRows, q.res.rows-off)
	b, err := s.chunkBody(q.res, off, n)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if failNow {
		b = b[:len(b)*2/3] // a body cut short mid-stream
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	_, _ = w.Write(b)
}

// chunkBody returns the gzipped IPC stream of rows [off, off+n).
func (s *Server) chunkBody(res *result, off, n int) ([]byte, error) {
	key := ""
	if s.opts.CacheChunks && res.table != "" {
		key = fmt.Sprintf("%s/%d/%d", res.table, off, n)
		s.mu.Lock()
		b, ok := s.cache[key]
		s.mu.Unlock()
		if ok {
			return b, nil
		}
	}
	var body bytes.Buffer
	zw := gzip.NewWriter(&body)
	if err := s.encode(zw, res, off, n); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	if key != "" {
		s.mu.Lock()
		s.cache[key] = body.Bytes()
		s.mu.Unlock()
	}
	return body.Bytes(), nil
}

// takeFailure reports whether this download of chunk idx must fail.
func (s *Server) takeFailure(idx int) (Failure, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.opts.FailChunkOnce[idx]
	if !ok || s.failed[idx] {
		return Failure{}, false
	}
	s.failed[idx] = true
	return f, true
}
