package load

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/internal/httpkit"
	"github.com/hoist-dev/hoist/sync/spec"
)

const scrubToken = "Tk-9/x+Q=ab<c>&d_0123456789"

// scrubEncodings are the forms a token has reached response bodies in.
var scrubEncodings = []struct {
	name string
	enc  func(string) string
}{
	{"raw", func(s string) string { return s }},
	{"query-escaped", url.QueryEscape},
	{"path-escaped", url.PathEscape},
	{"query-escaped, lower-case hex", func(s string) string { return strings.ToLower(url.QueryEscape(s)) }},
	{"lower-cased", strings.ToLower},
	{"upper-cased", strings.ToUpper},
	{"json-escaped", func(s string) string { b, _ := json.Marshal(s); return string(b[1 : len(b)-1]) }},
	{"json-escaped, no html escaping", func(s string) string {
		var b strings.Builder
		e := json.NewEncoder(&b)
		e.SetEscapeHTML(false)
		e.Encode(s)
		return strings.TrimSpace(b.String())
	}},
	{"json-escaped with \\/", func(s string) string {
		b, _ := json.Marshal(s)
		return strings.ReplaceAll(string(b[1:len(b)-1]), "/", `\/`)
	}},
	{"base64", func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }},
	{"base64 url", func(s string) string { return base64.URLEncoding.EncodeToString([]byte(s)) }},
	{"base64 raw", func(s string) string { return base64.RawStdEncoding.EncodeToString([]byte(s)) }},
	{"base64 raw url", func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }},
	{"base64 of the header value", func(s string) string { return base64.StdEncoding.EncodeToString([]byte("Bearer " + s)) }},
	{"base64 inside user:token (offset 1)", func(s string) string { return base64.StdEncoding.EncodeToString([]byte("u:" + s)) }},
	{"base64 inside user:token (offset 2)", func(s string) string { return base64.URLEncoding.EncodeToString([]byte("ab:" + s)) }},
}

// scrubLeaks reports which forms of the token text still holds (any case).
func scrubLeaks(text string) []string {
	var leaks []string
	low := strings.ToLower(text)
	for _, e := range scrubEncodings {
		form := e.enc(scrubToken)
		if strings.HasPrefix(e.name, "base64") {
			form = form[4 : len(form)-4] // the token's own characters, whatever the alignment
		}
		if strings.Contains(low, strings.ToLower(form)) {
			leaks = append(leaks, e.name)
		}
	}
	return leaks
}

// TestScrubberEncodings: every encoding of the token, echoed in a body, is
// replaced, in text and in a body past the truncation point.
func TestScrubberEncodings(t *testing.T) {
	t.Parallel()
	s := httpkit.NewScrubber(&httpkit.Config{Headers: map[string]spec.Secret{"Authorization": "Bearer " + scrubToken}})
	for _, e := range scrubEncodings {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			echo := fmt.Sprintf(`{"error":"bad request","echo":"%s"}`, e.enc(scrubToken))
			for name, got := range map[string]string{
				"String":             s.String(echo),
				"Body":               s.Body([]byte(echo)),
				"Body at the cut":    s.Body([]byte(strings.Repeat("x", httpkit.MaxErrorBody-10) + echo)),
				"Body of a big body": s.Body([]byte(echo + strings.Repeat("y", 10<<20))),
			} {
				if leaks := scrubLeaks(got); len(leaks) > 0 {
					t.Errorf("%s: %s form left in %q", name, e.name, got)
				}
				if name != "Body at the cut" && !strings.Contains(got, "****") {
					t.Errorf("%s: nothing scrubbed in %q", name, got)
				}
			}
		})
	}
	if got := s.String("a harmless body with Bearer and tokens"); got != "a harmless body with Bearer and tokens" {
		t.Errorf("harmless text changed: %q", got)
	}
}

// TestHTTPRejectedRowsCarryNoEncodedSecret: an API echoing the token in
// every encoding into 422 answers; the rejected rows' message and body (what
// the rejected-rows file gets) hold none of them.
func TestHTTPRejectedRowsCarryNoEncodedSecret(t *testing.T) {
	t.Parallel()
	var forms []string
	for _, e := range scrubEncodings {
		forms = append(forms, e.enc(scrubToken))
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnprocessableEntity)
		json.NewEncoder(w).Encode(map[string]any{"message": "refused for " + strings.Join(forms, " "), "seen": forms})
	}))
	defer srv.Close()
	conn := &spec.Connection{
		Name: "echo",
		Type: httpkit.Type,
		Config: &httpkit.Config{
			BaseURL: srv.URL,
			Headers: map[string]spec.Secret{"Authorization": spec.Secret("Bearer " + scrubToken)},
		},
	}
	w := httpOpenWriter(t, conn, &spec.Dest{
		Mode: spec.ModeUpsert,
		Config: &HTTPDest{
			Operations: map[string]*HTTPOperation{
				"upsert": {Method: "PUT", Path: "/contacts/{{.Row.id}}"}},
		},
	}, nil)
	failed, err := httpWriteAll(t, w, memory.NewGoAllocator(), httpContacts(2, 0), 2, 1, OpUpsert)
	if err != nil {
		t.Fatal(err)
	}
	if len(failed) != 2 {
		t.Fatalf("%d rows rejected, want 2", len(failed))
	}
	for id, f := range failed {
		if leaks := scrubLeaks(f.Msg + " " + f.Body); len(leaks) > 0 {
			t.Errorf("row %d: %v forms of the token in message %q body %q", id, leaks, f.Msg, f.Body)
		}
	}
}
