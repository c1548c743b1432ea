package crmtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"time"
)

// reply is a handler's answer, written by ServeHTTP so that it can be cached
// for idempotent replays and counted.
type reply struct {
	status int
	body   any
	header http.Header
}

type handler func(r *http.Request) reply

// fault is what ServeHTTP decided to do to one request.
type fault struct {
	reset, limited, throttled, fail, slow, hang bool
	retryAfter                                  int
	failStatus                                  int
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f := s.arrive(r)
	// Read the whole body first: only then does net/http watch the
	// connection, so that a hung handler learns when the client gave up.
	body, err := io.ReadAll(io.LimitReader(r.Body, 32<<20))
	if err != nil {
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	switch {
	case f.reset:
		s.reset(w)
		return
	case s.cfg.Token != "" && r.Header.Get("Authorization") != "Bearer "+s.cfg.Token:
		s.write(w, r, reply{status: http.StatusUnauthorized, body: map[string]any{"error": "missing or wrong bearer token"}})
		return
	case f.limited || f.throttled:
		h := http.Header{}
		h.Set("Retry-After", strconv.Itoa(f.retryAfter))
		h.Set("RateLimit-Reset", strconv.Itoa(f.retryAfter))
		h.Set("X-RateLimit-Remaining", "0")
		s.write(w, r, reply{status: http.StatusTooManyRequests, header: h, body: map[string]any{"error": "rate limit exceeded"}})
		return
	case f.fail:
		s.write(w, r, reply{status: f.failStatus, body: map[string]any{"error": "injected server error"}})
		return
	}
	if f.slow {
		sleepCtx(r, s.cfg.SlowDelay)
	}
	key := r.Header.Get("Idempotency-Key")
	var rep reply
	if cached, ok := s.replayed(r.Method, key); ok {
		rep = cached
	} else {
		rep = s.route(r)
		if key != "" && r.Method != http.MethodGet && rep.status >= 200 && rep.status < 300 {
			s.remember(key, rep)
		}
	}
	if f.hang {
		// The write happened; the answer never comes. A client that retries
		// must not duplicate or lose anything.
		if !sleepCtx(r, s.cfg.Hang) {
			return
		}
		rep = reply{status: http.StatusGatewayTimeout, body: map[string]any{"error": "timed out"}}
	}
	s.write(w, r, rep)
}

// arrive counts a request and decides its faults, in arrival order, from
// the seeded generator.
func (s *Server) arrive(r *http.Request) fault {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Requests++
	n := s.stats.Requests
	cut := now.Add(-time.Second)
	i := 0
	for i < len(s.window) && !s.window[i].After(cut) {
		i++
	}
	s.window = append(s.window[i:], now)
	s.stats.MaxPerSecond = max(s.stats.MaxPerSecond, len(s.window))
	if s.first.IsZero() {
		s.first = now
	}
	if sec := int(now.Sub(s.first) / time.Second); sec < 3600 {
		for len(s.stats.PerSecond) <= sec {
			s.stats.PerSecond = append(s.stats.PerSecond, 0)
		}
		s.stats.PerSecond[sec]++
	}

	// Draw every number for every request so that one fault's decision
	// does not shift the others' sequence.
	pFail, pSlow, pHang, pWhich := s.rng.Float64(), s.rng.Float64(), s.rng.Float64(), s.rng.IntN(3)
	var f fault
	if s.cfg.ResetEvery > 0 && n%int64(s.cfg.ResetEvery) == 0 {
		s.stats.Resets++
		f.reset = true
		return f
	}
	if s.limiter != nil {
		if !s.limiter.AllowN(now, 1) {
			// A refused request takes no token; it may come back when one
			// has refilled (rounded up to whole seconds, as Retry-After is).
			wait := (1 - s.limiter.TokensAt(now)) / s.cfg.RateLimit
			s.stats.RateLimited++
			f.limited, f.retryAfter = true, max(1, int(math.Ceil(wait)))
			return f
		}
	}
	if s.cfg.Throttle429Every > 0 && n%int64(s.cfg.Throttle429Every) == 0 {
		s.throttleFor = s.cfg.Throttle429Len
	}
	if s.throttleFor > 0 {
		s.throttleFor--
		s.stats.Injected429++
		f.throttled, f.retryAfter = true, 1
		return f
	}
	if pFail < s.cfg.ErrorRate {
		s.stats.Injected5xx++
		f.fail, f.failStatus = true, []int{500, 502, 503}[pWhich]
		return f
	}
	if pSlow < s.cfg.SlowRate {
		s.stats.Slow++
		f.slow = true
	}
	if pHang < s.cfg.TimeoutRate {
		s.stats.Timeouts++
		f.hang = true
	}
	return f
}

// reset closes the connection with a TCP RST (linger 0) instead of an
// answer, which clients see as "connection reset by peer".
func (s *Server) reset(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "cannot hijack", http.StatusInternalServerError)
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

func (s *Server) replayed(method, key string) (reply, bool) {
	if key == "" || method == http.MethodGet {
		return reply{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.idem[key]
	if !ok {
		return reply{}, false
	}
	s.stats.Replays++
	h := http.Header{}
	h.Set("Idempotent-Replayed", "true")
	return reply{status: c.status, body: json.RawMessage(c.body), header: h}, true
}

func (s *Server) remember(key string, rep reply) {
	b, err := json.Marshal(rep.body)
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.idem[key] = replay{status: rep.status, body: b}
}

func (s *Server) write(w http.ResponseWriter, r *http.Request, rep reply) {
	if rep.status >= 400 && rep.status < 500 && s.cfg.EchoAuth {
		if m, ok := rep.body.(map[string]any); ok {
			m["request_headers"] = map[string]string{"authorization": r.Header.Get("Authorization")}
		}
	}
	for k, vs := range rep.header {
		w.Header()[k] = vs
	}
	s.mu.Lock()
	s.stats.ByStatus[rep.status]++
	s.mu.Unlock()
	if rep.body == nil || rep.status == http.StatusNoContent {
		w.WriteHeader(rep.status)
		return
	}
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(rep.body); err != nil {
		http.Error(w, fmt.Sprintf("encode: %v", err), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rep.status)
	_, _ = w.Write(buf.Bytes())
}

// sleepCtx waits d unless the client goes away first; it reports whether
// the full time passed.
func sleepCtx(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-r.Context().Done():
		return false
	case <-t.C:
		return true
	}
}
