// Package httpkit is the HTTP client toolkit shared by the http source and
// destination: one client per connection with retries and backoff, a rate
// limiter shared by every loader of a connection, and a scrubber that keeps
// secrets out of messages.
package httpkit

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sort"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/hoist-dev/hoist/internal/quota"
)

const (
	// DefaultHTTPTimeout bounds one attempt (request and response body) when
	// the connection sets no timeout.
	DefaultHTTPTimeout = 30 * time.Second
	// maxResponseBody bounds what we read of one response: a page of an API
	// source or a batch answer, never a whole table.
	maxResponseBody = 64 << 20
	// MaxErrorBody is how much of a response body goes into errors and
	// rejected rows.
	MaxErrorBody = 512
	// MaxErrorRead is how much of a non-2xx body is kept: enough to find
	// the message in a JSON error, never a whole echoed request.
	MaxErrorRead = 1 << 20
)

// Client sends requests to one http connection through the connection's
// shared rate limiter, with per-attempt timeouts and retries (see Backoff).
// The http destination and the http source both use it, so an API sees one
// budget and one retry policy from hoist.
type Client struct {
	base    *url.URL
	headers http.Header // revealed values: only ever put on the wire
	hc      *http.Client
	limiter *rate.Limiter
	backoff *Backoff
	timeout time.Duration
	scrub   *Scrubber
	log     *slog.Logger
	// budget, when set, counts every attempt against the connection's
	// daily request budget and refuses them once it is spent.
	budget *quota.Budget
	// pacer, when set, paces attempts instead of the token bucket.
	pacer Pacer
}

// NewClient builds a client for the http connection name.
func NewClient(name string, conn *Config) (*Client, error) {
	base, err := url.Parse(conn.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("base_url %q is not an http(s) URL", RedactURL(conn.BaseURL))
	}
	c := &Client{
		base:    base,
		headers: http.Header{},
		limiter: SharedLimiter(name, conn),
		backoff: NewBackoff(conn.MaxRetries, nil),
		timeout: conn.Timeout.D(),
		scrub:   NewScrubber(conn),
		log:     slog.New(slog.DiscardHandler),
	}
	if c.timeout <= 0 {
		c.timeout = DefaultHTTPTimeout
	}
	for k, v := range conn.Headers {
		c.headers.Set(k, v.Reveal())
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// Many loaders hit one host: keep their connections instead of churning
	// through TIME_WAIT sockets with the default of 2 idle per host.
	tr.MaxIdleConnsPerHost = 256
	tr.MaxIdleConns = 256
	c.hc = &http.Client{
		Transport: tr,
		// Redirects would replay our headers to wherever the server points;
		// an API answering 3xx to a JSON write is a misconfiguration to report.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return c, nil
}

// WithLogger returns a copy of c that logs retries to l.
func (c *Client) WithLogger(l *slog.Logger) *Client {
	cp := *c
	if l != nil {
		cp.log = l
	}
	return &cp
}

// WithBudget returns a copy of c whose attempts spend from b: each is
// counted before it is sent, every answer's headers tell b what the API says
// is left, and once b is spent attempts fail with an error wrapping
// quota.ErrSpent, which is never retried.
func (c *Client) WithBudget(b *quota.Budget) *Client {
	cp := *c
	cp.budget = b
	return &cp
}

// WithPacer returns a copy of c whose attempts wait on p (a Window) instead
// of the connection's token bucket.
func (c *Client) WithPacer(p Pacer) *Client {
	cp := *c
	cp.pacer = p
	return &cp
}

// Budget returns the client's daily budget, or nil.
func (c *Client) Budget() *quota.Budget { return c.budget }

// WithClock returns a copy of c whose retries wait on clock (tests).
func (c *Client) WithClock(clock Clock) *Client {
	cp := *c
	cp.backoff = &Backoff{MaxRetries: c.backoff.MaxRetries, Base: c.backoff.Base, Cap: c.backoff.Cap, Clock: clock}
	return &cp
}

// Scrubber returns the client's secret scrubber.
func (c *Client) Scrubber() *Scrubber { return c.scrub }

// Base returns the connection's base URL.
func (c *Client) Base() *url.URL { return c.base }

// Close drops idle connections.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

// Resolve turns a path (relative to base_url) or an absolute URL into a URL.
// Relative paths are appended to base_url's path, so a base of
// https://api.x/v2 and a path of /contacts give https://api.x/v2/contacts.
func (c *Client) Resolve(ref string) (*url.URL, error) {
	if strings.HasPrefix(ref, "http://") || strings.HasPrefix(ref, "https://") {
		u, err := url.Parse(ref)
		if err != nil {
			return nil, fmt.Errorf("bad url %q: %w", RedactURL(ref), err)
		}
		return u, nil
	}
	rel, err := url.Parse(ref)
	if err != nil {
		return nil, fmt.Errorf("bad path %q: %w", ref, err)
	}
	u := *c.base
	u.Path = strings.TrimSuffix(c.base.Path, "/") + "/" + strings.TrimPrefix(rel.Path, "/")
	u.RawPath = ""
	if rel.RawPath != "" {
		u.RawPath = strings.TrimSuffix(c.base.EscapedPath(), "/") + "/" + strings.TrimPrefix(rel.RawPath, "/")
	}
	q := c.base.Query()
	for k, vs := range rel.Query() {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	return &u, nil
}

// SameOrigin reports whether u has base_url's scheme and host; headers (and
// their secrets) are only ever sent there.
func (c *Client) SameOrigin(u *url.URL) bool {
	return strings.EqualFold(u.Scheme, c.base.Scheme) && strings.EqualFold(u.Host, c.base.Host)
}

// Gate bounds how many attempts are in flight; the http destination's
// adaptive concurrency implements it.
type Gate interface {
	// Acquire takes a slot; release gives it back with the attempt's outcome.
	Acquire(ctx context.Context) (release func(Sample), err error)
}

// Sample is the outcome of one attempt, fed back to a Gate.
type Sample struct {
	Latency time.Duration
	Status  int  // 0 after a transport error
	Failed  bool // transport error
}

// Request is one logical request; Do may send it several times.
type Request struct {
	Method string
	URL    *url.URL
	Body   []byte
	Header http.Header
	// BodyFunc, instead of Body, streams a body too large to hold: each
	// attempt calls it for a fresh reader (closed by the transport), so a
	// retry sends the same bytes again.
	BodyFunc func() io.Reader
	Gate     Gate
	// DiscardSuccessBody drains a 2xx body without keeping it (the
	// response's Body is then empty): for callers that only need the status.
	DiscardSuccessBody bool
	// Classify, when set, reads a retryable answer (429, 5xx) before it is
	// retried: an error ends the request with it (an API's daily limit
	// reached: no retry can help); a wait above 0 is how long to sit out
	// before the retry, when the API's own policy says so and its headers
	// do not (paced, as a Retry-After is).
	Classify func(status int, h http.Header, body []byte) (wait time.Duration, err error)
	// Timeout, when set, is this request's per-attempt timeout instead of
	// the client's (a caller that adapts it to the API's latency).
	Timeout func() time.Duration
}

// Response is the final answer to a request: a 2xx, or a status that is
// not retryable (the caller decides what a 4xx means).
type Response struct {
	Status   int
	Header   http.Header
	Body     []byte
	Attempts int
}

// StatusError is a request that kept failing with a retryable status until
// the retries ran out, or asked for a longer wait than MaxServerWait.
type StatusError struct {
	Method, URL string // URL is redacted
	Status      int
	Body        string // scrubbed and truncated
	Attempts    int
	Reason      string
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("%s %s: %d %s after %d attempt(s)", e.Method, e.URL, e.Status, http.StatusText(e.Status), e.Attempts)
	if e.Reason != "" {
		msg += " (" + e.Reason + ")"
	}
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// Do sends req, retrying 429, 5xx, timeouts and connection resets with
// backoff up to max_retries; each attempt takes a token from the shared
// limiter. A non-retryable status comes back as a response, not an error.
// MaxPacedRetries bounds 429s with a wait hint for one request, so that a
// server answering "Retry-After: 0" forever cannot hold a run.
const MaxPacedRetries = 100

func (c *Client) Do(ctx context.Context, req Request) (*Response, error) {
	where := req.Method + " " + RedactURL(req.URL.String())
	// failures counts what max_retries bounds: 5xx, timeouts, resets, and 429s
	// without a wait hint. A 429 that says when to come back (Retry-After,
	// RateLimit-Reset) is the API pacing us, not failing: honouring it spends
	// no retry, only time, bounded by MaxServerWait in total.
	failures, pacedTries := 0, 0
	var throttled time.Duration
	for attempt := 0; ; attempt++ {
		resp, err := c.attempt(ctx, req)
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("%s: %w", where, ctxErr)
		}
		status := 0
		var header http.Header
		switch {
		case err != nil && !RetryableError(ctx, err):
			return nil, c.scrubErr(fmt.Errorf("%s: %w", where, unwrapURLError(err)))
		case err == nil && !RetryableStatus(resp.Status):
			resp.Attempts = attempt + 1
			return resp, nil
		case err == nil:
			status, header = resp.Status, resp.Header
		}
		wait, hinted := c.backoff.Delay(failures, status, header)
		if err == nil && req.Classify != nil {
			cw, cerr := req.Classify(status, header, resp.Body)
			if cerr != nil {
				return nil, c.scrubErr(fmt.Errorf("%s: %w", where, cerr))
			}
			if cw > 0 && !hinted {
				wait, hinted = cw+c.backoff.Jitter(0)/4, true
			}
		}
		paced := err == nil && status == http.StatusTooManyRequests && hinted
		if paced {
			throttled += wait
			pacedTries++
		}
		if (!paced && failures >= c.backoff.MaxRetries) || (paced && (throttled > MaxServerWait || pacedTries > MaxPacedRetries)) {
			if err != nil {
				return nil, c.scrubErr(fmt.Errorf("%s: giving up after %d attempt(s): %w", where, attempt+1, unwrapURLError(err)))
			}
			se := &StatusError{Method: req.Method, URL: RedactURL(req.URL.String()), Status: status,
				Body: c.scrub.Body(resp.Body), Attempts: attempt + 1}
			if paced {
				se.Reason = fmt.Sprintf("throttled %d times for %s in total", pacedTries, throttled.Round(time.Second))
			}
			return nil, se
		}
		if !paced {
			failures++
		}
		if hinted && wait > MaxServerWait {
			return nil, &StatusError{Method: req.Method, URL: RedactURL(req.URL.String()), Status: status,
				Attempts: attempt + 1, Reason: fmt.Sprintf("server asked to wait %s, more than %s", wait.Round(time.Second), MaxServerWait)}
		}
		why := "transport error"
		if err == nil {
			why = fmt.Sprintf("status %d", status)
		} else if isTimeout(err) {
			why = "timeout"
		}
		c.log.Debug("http retry", "request", where, "attempt", attempt+1, "reason", why, "wait_ms", wait.Milliseconds(), "server_hint", hinted)
		if err := c.backoff.Clock.Sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
	}
}

// attempt sends req once: gate slot first, then a limiter token, then the
// request at once, so that tokens turn into requests without bunching.
func (c *Client) attempt(ctx context.Context, req Request) (resp *Response, err error) {
	var release func(Sample)
	if req.Gate != nil {
		if release, err = req.Gate.Acquire(ctx); err != nil {
			return nil, err
		}
	}
	var start time.Time
	defer func() {
		if release == nil {
			return
		}
		s := Sample{Failed: err != nil}
		if !start.IsZero() {
			s.Latency = time.Since(start)
		}
		if resp != nil {
			s.Status = resp.Status
		}
		release(s)
	}()
	// The budget is taken before the pacer's slot, and the request is
	// built before it too: what lies between the slot and the wire (a
	// ledger write every few requests, building the request) would delay
	// some requests past their slot and bunch them with later ones, which
	// a rolling window limit counts as too many.
	if c.budget != nil {
		if err := c.budget.Take(ctx); err != nil {
			return nil, err
		}
	}
	var body io.Reader
	if req.Body != nil {
		body = bytes.NewReader(req.Body)
	}
	if req.BodyFunc != nil {
		body = req.BodyFunc()
	}
	hr, err := http.NewRequestWithContext(ctx, req.Method, req.URL.String(), body)
	if err != nil {
		c.budget.Return()
		return nil, err
	}
	// Without GetBody net/http cannot replay a write on a fresh connection
	// by itself: such a replay would bypass the limiter. Our own retry
	// takes a token for every attempt.
	hr.GetBody = nil
	for k, vs := range c.headers {
		hr.Header[k] = vs
	}
	for k, vs := range req.Header {
		hr.Header[k] = vs
	}
	if (req.Body != nil || req.BodyFunc != nil) && hr.Header.Get("Content-Type") == "" {
		hr.Header.Set("Content-Type", "application/json")
	}
	if hr.Header.Get("Accept") == "" {
		hr.Header.Set("Accept", "application/json")
	}
	if hr.Header.Get("User-Agent") == "" {
		hr.Header.Set("User-Agent", "hoist")
	}
	var sent func(time.Time)
	switch p := c.pacer.(type) {
	case nil:
		err = WaitToken(ctx, c.limiter)
	case SentPacer:
		sent, err = p.WaitSent(ctx)
	default:
		err = p.Wait(ctx)
	}
	if err != nil {
		c.budget.Return() // never sent
		if rc, ok := body.(io.Closer); ok {
			rc.Close() // a streamed body's writer is waiting on it
		}
		return nil, err
	}
	// the attempt's timeout starts when it is sent, not while it waits
	timeout := c.timeout
	if req.Timeout != nil {
		if d := req.Timeout(); d > 0 {
			timeout = d
		}
	}
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if sent != nil {
		actx = httptrace.WithClientTrace(actx, &httptrace.ClientTrace{
			WroteRequest: func(httptrace.WroteRequestInfo) { sent(time.Now()) },
		})
	}
	hr = hr.WithContext(actx)
	start = time.Now()
	r, err := c.hc.Do(hr)
	if err != nil {
		return nil, err
	}
	defer r.Body.Close()
	if c.budget != nil {
		c.budget.Observe(r.Header)
	}
	if o, ok := c.pacer.(PaceObserver); ok {
		o.Observe(r.Header, start)
	}
	ok := r.StatusCode >= 200 && r.StatusCode <= 299
	if ok && req.DiscardSuccessBody {
		// Read to the end (up to the bound) so the connection is reused.
		if _, err := io.CopyN(io.Discard, r.Body, maxResponseBody); err != nil && err != io.EOF {
			return nil, err
		}
		return &Response{Status: r.StatusCode, Header: r.Header}, nil
	}
	limit := int64(maxResponseBody)
	if !ok {
		limit = MaxErrorRead
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		if ok {
			return nil, fmt.Errorf("response body larger than %d MiB", maxResponseBody>>20)
		}
		data = data[:limit]
		_, _ = io.CopyN(io.Discard, r.Body, maxResponseBody) // for connection reuse; the head is what we report
	}
	return &Response{Status: r.StatusCode, Header: r.Header, Body: data}, nil
}

func (c *Client) scrubErr(err error) error {
	return &scrubbedError{msg: c.scrub.String(err.Error()), err: err}
}

// scrubbedError prints a message with secrets removed while keeping the
// original chain for errors.Is/As.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err // its message repeats the full URL, query string included
	}
	return err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// RedactURL hides the password and query values of a URL, which is where
// API keys hide when they are not in headers.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable url)"
	}
	if u.User != nil {
		// A lone user name in a URL is often the token itself.
		u.User = url.User("xxxxx")
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			if secretLike(k) {
				q[k] = []string{"xxxxx"}
			}
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
}

func secretLike(key string) bool {
	k := strings.ToLower(key)
	for _, s := range []string{"key", "token", "secret", "password", "sig", "auth"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

// Scrubber removes a connection's header values from text a server or a
// library produced: servers echo Authorization headers in error bodies more
// often than one would hope, and not always verbatim.
type Scrubber struct {
	secrets []string
	longest int
}

// NewScrubber collects the header values of conn: the whole value and its
// words (the token of "Bearer <token>"), each also URL-escaped (query and
// path), JSON-escaped and base64-encoded, and what a base64 word decodes to
// (the user:password of Basic). Matching ignores ASCII case, so a lower- or
// upper-cased echo, or %2f for %2F, is caught too.
func NewScrubber(conn *Config) *Scrubber {
	seen := map[string]bool{}
	add := func(s string) {
		if len(s) >= 4 {
			seen[s] = true
		}
	}
	for _, v := range conn.Headers {
		val := v.Reveal()
		for _, form := range secretForms(val) {
			add(form)
		}
		for _, w := range strings.Fields(val) {
			if len(w) < 8 {
				continue
			}
			for _, form := range secretForms(w) {
				add(form)
			}
			if dec, err := base64.StdEncoding.DecodeString(w); err == nil && len(dec) >= 8 && printable(dec) {
				add(string(dec))
				for _, part := range strings.Split(string(dec), ":") {
					if len(part) >= 8 {
						for _, form := range secretForms(part) {
							add(form)
						}
					}
				}
			}
		}
	}
	s := &Scrubber{}
	for v := range seen {
		s.secrets = append(s.secrets, v)
		s.longest = max(s.longest, len(v))
	}
	// Longest first, so a whole value is replaced before its parts.
	sort.Slice(s.secrets, func(i, j int) bool { return len(s.secrets[i]) > len(s.secrets[j]) })
	return s
}

// secretForms is v as it may appear in a body or an error: raw, URL-escaped,
// JSON-escaped, and base64 at each of the three alignments it can have
// inside a longer encoded string (standard and URL alphabets).
func secretForms(v string) []string {
	forms := []string{v, url.QueryEscape(v), url.PathEscape(v)}
	var js bytes.Buffer
	enc := json.NewEncoder(&js)
	for _, html := range []bool{true, false} {
		js.Reset()
		enc.SetEscapeHTML(html)
		if enc.Encode(v) == nil {
			q := strings.TrimSuffix(js.String(), "\n")
			q = q[1 : len(q)-1]
			forms = append(forms, q, strings.ReplaceAll(q, "/", `\/`))
		}
	}
	for _, e := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		for k := 0; k < 3; k++ {
			// k bytes before v shift its bits; keep the characters made
			// of v's bits alone.
			b64 := e.EncodeToString(append(make([]byte, k), v...))
			from, to := (8*k+5)/6, 8*(k+len(v))/6
			if to-from >= 8 {
				forms = append(forms, b64[from:to])
			}
		}
	}
	return forms
}

func printable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// String replaces every secret in text by ****, ignoring ASCII case.
func (s *Scrubber) String(text string) string {
	if s == nil {
		return text
	}
	for _, v := range s.secrets {
		text = replaceFold(text, v, "****")
	}
	return text
}

// replaceFold is strings.ReplaceAll matching old without regard to ASCII
// case.
func replaceFold(text, old, repl string) string {
	var b strings.Builder
	last := 0
	for i := 0; i+len(old) <= len(text); {
		if asciiEqualFold(text[i:i+len(old)], old) {
			b.WriteString(text[last:i])
			b.WriteString(repl)
			i += len(old)
			last = i
			continue
		}
		i++
	}
	if last == 0 {
		return text
	}
	b.WriteString(text[last:])
	return b.String()
}

func asciiEqualFold(a, b string) bool {
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// Body scrubs a response body and truncates it to 512 bytes (at a rune
// boundary), for errors and rejected rows.
func (s *Scrubber) Body(b []byte) string {
	return s.Text(string(b), MaxErrorBody)
}

// Text scrubs text and truncates it to n bytes at a rune boundary. Only the
// head that can reach the result is scrubbed (a body may be megabytes), and
// it is scrubbed before the cut, so no part of a secret straddling it stays.
func (s *Scrubber) Text(text string, n int) string {
	cut := len(text) > n+s.margin()
	if cut {
		text = text[:n+s.margin()]
	}
	text = s.String(text)
	if cut {
		text = strings.ToValidUTF8(text, "") // the cut may have split a rune
	}
	return truncate(text, n)
}

func (s *Scrubber) margin() int {
	if s == nil {
		return 0
	}
	return s.longest
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// truncate cuts s to at most n bytes, on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
