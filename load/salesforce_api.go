package load

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/hoist-dev/hoist/internal/httpkit"
	"github.com/hoist-dev/hoist/internal/salesforceconn"
	"github.com/hoist-dev/hoist/sync/spec"
)

// sfAPI sends requests to one org: the session's bearer token on each
// (the token source runs the OAuth flow once for every sync on the
// connection, and again when a request is answered 401), to the
// instance_url the token answer named, with httpkit's retries of 5xx,
// timeouts and resets.
type sfAPI struct {
	client *httpkit.Client
	tokens *salesforceconn.TokenSource
	data   string // /services/data/v62.0
	scrub  *httpkit.Scrubber
	gate   httpkit.Gate
	// upload sends job data with a longer timeout; download streams
	// result CSVs (httpkit's client holds bodies whole)
	upload   *httpkit.Client
	download *http.Client
}

func newSFAPI(name string, cfg *salesforceconn.Config, dir string) (*sfAPI, error) {
	tokens, err := salesforceconn.Source(name, cfg, dir)
	if err != nil {
		return nil, err
	}
	// The client's base is only a placeholder: every request goes to the
	// session's instance_url, resolved per request.
	c, err := httpkit.NewClient(name, &httpkit.Config{BaseURL: cfg.Login(), Timeout: cfg.Timeout, MaxRetries: cfg.MaxRetries,
		MaxConcurrency: cfg.Concurrency()})
	if err != nil {
		return nil, err
	}
	long := spec.Duration(10 * max(cfg.Timeout.D(), httpkit.DefaultHTTPTimeout))
	up, err := httpkit.NewClient(name+" upload", &httpkit.Config{BaseURL: cfg.Login(), Timeout: long, MaxRetries: cfg.MaxRetries})
	if err != nil {
		return nil, err
	}
	// no secret is ever put in a header hoist keeps, but a library's error
	// could quote the key or the client secret: scrub them
	secrets := map[string]spec.Secret{}
	for i, s := range cfg.Secrets() {
		secrets[fmt.Sprint(i)] = s
	}
	return &sfAPI{client: c, tokens: tokens, data: cfg.DataPath(), scrub: httpkit.NewScrubber(&httpkit.Config{Headers: secrets}),
		gate: newAIMD(cfg.Concurrency()), upload: up, download: &http.Client{Timeout: 10 * max(cfg.Timeout.D(), httpkit.DefaultHTTPTimeout),
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}, nil
}

// sfRequest is one request: a path under /services/data/vXX.X (or an
// absolute path), a body or a streamed one.
type sfRequest struct {
	method, path string
	body         []byte
	stream       func() io.Reader
	contentType  string
	accept       string
}

// do sends r with the session's token; a 401 (the session expired) runs
// the OAuth flow again and resends, once.
func (a *sfAPI) do(ctx context.Context, r sfRequest) (*httpkit.Response, error) {
	for try := 0; ; try++ {
		tok, err := a.tokens.Token(ctx)
		if err != nil {
			return nil, err
		}
		path := r.path
		if !strings.HasPrefix(path, "/services/") {
			path = a.data + path
		}
		u, err := a.client.Resolve(tok.InstanceURL + path)
		if err != nil {
			return nil, err
		}
		h := http.Header{"Authorization": {"Bearer " + tok.Access.Reveal()}}
		if r.contentType != "" {
			h.Set("Content-Type", r.contentType)
		}
		if r.accept != "" {
			h.Set("Accept", r.accept)
		}
		c := a.client
		if r.stream != nil {
			c = a.upload
		}
		resp, err := c.Do(ctx, httpkit.Request{Method: r.method, URL: u, Body: r.body, BodyFunc: r.stream, Header: h, Gate: a.gate,
			Classify: sfClassify})
		if err != nil {
			return nil, err
		}
		if resp.Status == http.StatusUnauthorized && try == 0 {
			if _, err := a.tokens.Refresh(ctx, tok); err != nil {
				return nil, fmt.Errorf("the session expired, and a new one could not be had: %w", err)
			}
			continue
		}
		return resp, nil
	}
}

// sfClassify waits out a 503 a little longer than the default backoff:
// Salesforce answers it under load.
func sfClassify(status int, _ http.Header, _ []byte) (time.Duration, error) {
	if status == http.StatusServiceUnavailable {
		return 500 * time.Millisecond, nil
	}
	return 0, nil
}

// json sends r and decodes a 2xx answer into v; other answers are errors
// naming Salesforce's errorCode and message.
func (a *sfAPI) json(ctx context.Context, r sfRequest, v any) (*httpkit.Response, error) {
	resp, err := a.do(ctx, r)
	if err != nil {
		return nil, err
	}
	if resp.Status < 200 || resp.Status > 299 {
		return resp, a.statusError(r, resp)
	}
	if v != nil && len(resp.Body) > 0 {
		if err := json.Unmarshal(resp.Body, v); err != nil {
			return resp, fmt.Errorf("%s %s: read the answer: %w", r.method, r.path, err)
		}
	}
	return resp, nil
}

// sfErrors is the REST API's error body: [{"message","errorCode"}].
type sfErrors []struct {
	Message   string   `json:"message"`
	ErrorCode string   `json:"errorCode"`
	Fields    []string `json:"fields"`
}

func (e sfErrors) String() string {
	parts := make([]string, 0, len(e))
	for _, x := range e {
		parts = append(parts, x.ErrorCode+": "+x.Message)
	}
	return strings.Join(parts, "; ")
}

// statusError describes a non-2xx answer.
func (a *sfAPI) statusError(r sfRequest, resp *httpkit.Response) error {
	var errs sfErrors
	msg := ""
	if json.Unmarshal(resp.Body, &errs) == nil && len(errs) > 0 {
		msg = errs.String()
	} else {
		msg = a.scrub.Body(resp.Body)
	}
	return fmt.Errorf("%s %s: %d %s: %s", r.method, r.path, resp.Status, http.StatusText(resp.Status), a.scrub.String(msg))
}

// stream GETs path and hands the 2xx body to read as it arrives (a Bulk
// job's results are as large as its upload: never held whole), retrying
// 5xx and transport failures before read has seen a byte, and a 401 once
// with a new session.
func (a *sfAPI) stream(ctx context.Context, path string, read func(io.Reader) error) error {
	backoff := httpkit.NewBackoff(nil, nil)
	refreshed := false
	for attempt := 0; ; attempt++ {
		tok, err := a.tokens.Token(ctx)
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, tok.InstanceURL+a.data+path, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+tok.Access.Reveal())
		req.Header.Set("Accept", "text/csv")
		req.Header.Set("User-Agent", "hoist")
		if b := a.client.Budget(); b != nil {
			if err := b.Take(ctx); err != nil {
				return err
			}
		}
		resp, err := a.download.Do(req)
		status := 0
		if err == nil {
			if b := a.client.Budget(); b != nil {
				b.Observe(resp.Header)
			}
			status = resp.StatusCode
			switch {
			case status >= 200 && status < 300:
				err := read(resp.Body)
				resp.Body.Close()
				return err
			case status == http.StatusUnauthorized && !refreshed:
				resp.Body.Close()
				refreshed = true
				if _, err := a.tokens.Refresh(ctx, tok); err != nil {
					return fmt.Errorf("the session expired, and a new one could not be had: %w", err)
				}
				continue
			case !httpkit.RetryableStatus(status):
				body, _ := io.ReadAll(io.LimitReader(resp.Body, httpkit.MaxErrorRead))
				resp.Body.Close()
				return a.statusError(sfRequest{method: http.MethodGet, path: path}, &httpkit.Response{Status: status, Body: body})
			}
			resp.Body.Close()
		} else if ctx.Err() != nil {
			return ctx.Err()
		}
		if attempt >= backoff.MaxRetries {
			if err != nil {
				return fmt.Errorf("GET %s: giving up after %d attempt(s): %s", path, attempt+1, a.scrub.String(err.Error()))
			}
			return fmt.Errorf("GET %s: %d %s after %d attempt(s)", path, status, http.StatusText(status), attempt+1)
		}
		wait, _ := backoff.Delay(attempt, status, nil)
		if err := backoff.Clock.Sleep(ctx, wait); err != nil {
			return err
		}
	}
}
