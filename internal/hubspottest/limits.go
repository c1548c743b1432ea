package hubspottest

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// capture lets the mux's handlers hand their reply back to ServeHTTP.
type capture struct {
	rep  reply
	code int
	body []byte
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

// verdict is what arrive decided for one request.
type verdict struct {
	reset, unauthorized, hang, slow bool
	limited                         string // "" or the 429's policy
	fail                            int    // injected 5xx status
	dailyLeft, windowLeft           int
	at                              time.Time // arrival
}

const window = 10 * time.Second

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// A request is counted when it arrives, as HubSpot's edge counts it:
	// not after its body is read or after the requests before it are
	// served (the fake serves one batch at a time), which would count a
	// burst that queued here later than it came and make a client that
	// paced well look over the limit.
	now := time.Now()
	body, err := io.ReadAll(io.LimitReader(r.Body, 32<<20))
	if err != nil {
		return
	}
	v := s.arrive(r, now)
	if v.reset {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				if tc, ok := conn.(*net.TCPConn); ok {
					tc.SetLinger(0)
				}
				conn.Close()
				return
			}
		}
	}
	if v.unauthorized {
		s.answer(w, failure(http.StatusUnauthorized, "INVALID_AUTHENTICATION",
			"Authentication credentials not found. This API supports OAuth 2.0 authentication and private app access tokens.", nil), v)
		return
	}
	switch v.limited {
	case "DAILY":
		s.writeRaw(w, http.StatusTooManyRequests, map[string]any{"status": "error", "message": "You have reached your daily limit.",
			"errorType": "RATE_LIMIT", "correlationId": "00000000-0000-4000-8000-000000000000", "policyName": "DAILY"}, v)
		return
	case "TEN_SECONDLY_ROLLING":
		s.writeRaw(w, http.StatusTooManyRequests, map[string]any{"status": "error", "message": "You have reached your ten_secondly_rolling limit.",
			"errorType": "RATE_LIMIT", "correlationId": "00000000-0000-4000-8000-000000000000", "policyName": "TEN_SECONDLY_ROLLING"}, v)
		return
	}
	if v.fail != 0 {
		s.answer(w, failure(v.fail, "INTERNAL_ERROR", "injected server error", nil), v)
		return
	}
	if v.slow {
		sleep(r, s.cfg.SlowDelay)
	}
	c := &capture{body: body}
	s.mux.ServeHTTP(c, r)
	rep := c.rep
	if rep.status == 0 {
		code := c.code
		if code == 0 {
			code = http.StatusNotFound
		}
		rep = failure(code, "OBJECT_NOT_FOUND", "no such endpoint: "+r.Method+" "+r.URL.Path, nil)
	}
	if v.hang {
		// applied, never answered: a client that retries must neither
		// duplicate nor lose anything
		if !sleep(r, s.cfg.Hang) {
			return
		}
		rep = failure(http.StatusGatewayTimeout, "TIMEOUT", "timed out", nil)
	}
	s.answer(w, rep, v)
}

func (s *Server) answer(w http.ResponseWriter, rep reply, v verdict) {
	s.writeRaw(w, rep.status, rep.body, v)
}

// sleep waits d or until the client gives up; false when it did.
func sleep(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// arrive counts a request and decides, in arrival order, its limits and
// faults.
func (s *Server) arrive(r *http.Request, now time.Time) verdict {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &s.stats
	st.Requests++
	n := st.Requests
	if st.First.IsZero() {
		st.First = now
	}
	st.Last = now
	if sec := int(now.Sub(st.First) / time.Second); sec < 3600 {
		for len(st.PerSecond) <= sec {
			st.PerSecond = append(st.PerSecond, 0)
		}
		st.PerSecond[sec]++
	}
	s.arrivals = prune(insertTime(s.arrivals, now), latest(s.arrivals, now))
	st.MaxPer10s = max(st.MaxPer10s, countSpan(s.arrivals))
	// every number drawn for every request, so one fault's decision does
	// not shift the others'
	pFail, pSlow, pHang, pWhich := s.rng.Float64(), s.rng.Float64(), s.rng.Float64(), s.rng.IntN(3)
	v := verdict{at: now}
	if s.cfg.ResetEvery > 0 && n%int64(s.cfg.ResetEvery) == 0 {
		st.Resets++
		v.reset = true
		return v
	}
	if s.cfg.Token != "" && r.Header.Get("Authorization") != "Bearer "+s.cfg.Token {
		v.unauthorized = true
		return v
	}
	if day := now.UTC().Format(time.DateOnly); day != s.day {
		s.day, st.DailyUsed = day, 0
	}
	s.window = prune(s.window, latest(s.window, now))
	if s.cfg.Throttle429Every > 0 && n%int64(s.cfg.Throttle429Every) == 0 {
		s.throttle = s.cfg.Throttle429Len
	}
	switch {
	case s.throttle > 0:
		s.throttle--
		st.Injected429++
		v.limited = "TEN_SECONDLY_ROLLING"
	case s.cfg.Daily >= 0 && st.DailyUsed >= s.cfg.Daily:
		st.DailyLimited++
		v.limited = "DAILY"
	case s.cfg.TenSecondly >= 0 && s.overLimit(now):
		st.Limited++
		v.limited = "TEN_SECONDLY_ROLLING"
	default:
		st.DailyUsed++
		switch {
		case pFail < s.cfg.ErrorRate:
			st.Injected5xx++
			v.fail = []int{500, 502, 503}[pWhich]
		case pHang < s.cfg.TimeoutRate:
			st.Timeouts++
			v.hang = true
		}
		if pSlow < s.cfg.SlowRate {
			st.Slow++
			v.slow = true
		}
	}
	v.dailyLeft = max(s.cfg.Daily-st.DailyUsed, 0)
	v.windowLeft = max(s.cfg.TenSecondly-len(s.window), 0)
	return v
}

// Requests are stamped on arrival but counted when the fake gets to them,
// so stamps can come slightly out of order: the lists stay sorted, and a
// span is counted around each stamp.

// insertTime adds t to the sorted ts.
func insertTime(ts []time.Time, t time.Time) []time.Time {
	i := len(ts)
	for i > 0 && ts[i-1].After(t) {
		i--
	}
	ts = append(ts, time.Time{})
	copy(ts[i+1:], ts[i:])
	ts[i] = t
	return ts
}

// latest is the later of ts's last stamp and now.
func latest(ts []time.Time, now time.Time) time.Time {
	if len(ts) > 0 && ts[len(ts)-1].After(now) {
		return ts[len(ts)-1]
	}
	return now
}

// overLimit accepts a request that arrived at now into the window, unless
// that would put more than the limit in some ten seconds: stamps can be
// counted out of order, so every span holding now is checked, not only the
// one ending at it. s.mu held.
func (s *Server) overLimit(now time.Time) bool {
	s.window = insertTime(s.window, now)
	if countSpan(s.window) <= s.cfg.TenSecondly {
		return false
	}
	for i := len(s.window) - 1; i >= 0; i-- {
		if s.window[i].Equal(now) {
			s.window = append(s.window[:i], s.window[i+1:]...)
			break
		}
	}
	return true
}

// countSpan is the most stamps of the sorted ts within any ten seconds
// ending at one of them.
func countSpan(ts []time.Time) int {
	best, j := 0, 0
	for i := range ts {
		for !ts[j].After(ts[i].Add(-window)) {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}

// prune drops the times older than the ten-second window before now.
func prune(ts []time.Time, now time.Time) []time.Time {
	cut := now.Add(-window)
	i := 0
	for i < len(ts) && !ts[i].After(cut) {
		i++
	}
	return append(ts[:0], ts[i:]...)
}

// writeRaw sends an answer with the rate limit headers HubSpot sends on
// every authenticated answer.
func (s *Server) writeRaw(w http.ResponseWriter, status int, body any, v verdict) {
	h := w.Header()
	// (a limit turned off, -1, sends no headers for it)
	if !v.unauthorized && s.cfg.Daily >= 0 {
		h.Set("X-HubSpot-RateLimit-Daily", strconv.Itoa(s.cfg.Daily))
		h.Set("X-HubSpot-RateLimit-Daily-Remaining", strconv.Itoa(v.dailyLeft))
	}
	if !v.unauthorized && s.cfg.TenSecondly >= 0 {
		h.Set("X-HubSpot-RateLimit-Interval-Milliseconds", strconv.Itoa(int(window/time.Millisecond)))
		h.Set("X-HubSpot-RateLimit-Max", strconv.Itoa(s.cfg.TenSecondly))
		h.Set("X-HubSpot-RateLimit-Remaining", strconv.Itoa(v.windowLeft))
	}
	s.mu.Lock()
	s.stats.ByStatus[status]++
	if status < 300 && !v.at.IsZero() {
		// the answered requests by the second they arrived in: what a
		// client achieved of the limit (bench-hubspot)
		if sec := int(v.at.Sub(s.stats.First) / time.Second); sec >= 0 && sec < 3600 {
			for len(s.stats.OKPerSecond) <= sec {
				s.stats.OKPerSecond = append(s.stats.OKPerSecond, 0)
			}
			s.stats.OKPerSecond[sec]++
		}
	}
	s.mu.Unlock()
	if status == http.StatusNoContent || body == nil {
		w.WriteHeader(status)
		return
	}
	var buf bytes.Buffer
	json.NewEncoder(&buf).Encode(body)
	h.Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}
