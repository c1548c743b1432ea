package hubspottest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func post(t *testing.T, srv *Server, path, body string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer tok")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp, out
}

func inputs(n int, f func(i int) string) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = f(i)
	}
	return `{"inputs":[` + strings.Join(parts, ",") + `]}`
}

// TestRequestSchemas: the fake holds every request to HubSpot's documented
// request shapes, counting the ones that are not (a client must send none).
func TestRequestSchemas(t *testing.T) {
	srv := New(Config{Token: "tok", Properties: map[string][]Property{"contacts": {NumberProperty("score")}}})
	defer srv.Close()
	upsert := "/crm/v3/objects/contacts/batch/upsert"
	good := func(i int) string {
		return fmt.Sprintf(`{"id":"p%d@example.com","idProperty":"email","properties":{"firstname":"A","score":"1.5"}}`, i)
	}
	for _, c := range []struct {
		name, path, body string
		status           int
		invalid          bool
	}{
		{"valid upsert", upsert, inputs(2, good), 200, false},
		{"100 inputs", upsert, inputs(100, good), 200, false},
		{"101 inputs", upsert, inputs(101, good), 400, true},
		{"a null value", upsert, `{"inputs":[{"id":"a@example.com","idProperty":"email","properties":{"firstname":null}}]}`, 400, true},
		{"a number value", upsert, `{"inputs":[{"id":"a@example.com","idProperty":"email","properties":{"score":1.5}}]}`, 400, true},
		{"an unknown field", upsert, `{"inputs":[{"id":"a@example.com","idProperty":"email","properties":{},"extra":1}]}`, 400, true},
		{"no properties", upsert, `{"inputs":[{"id":"a@example.com","idProperty":"email"}]}`, 400, true},
		{"duplicate ids", upsert, `{"inputs":[{"id":"a@example.com","idProperty":"email","properties":{}},{"id":"A@example.com","idProperty":"email","properties":{}}]}`, 400, true},
		{"idProperty not unique", upsert, `{"inputs":[{"id":"Ann","idProperty":"firstname","properties":{}}]}`, 400, true},
		{"not JSON", upsert, `{"inputs":[`, 400, true},
		{"read without propertiesWithHistory", "/crm/v3/objects/contacts/batch/read", `{"idProperty":"email","inputs":[{"id":"a@example.com"}],"properties":[]}`, 400, true},
		{"valid read", "/crm/v3/objects/contacts/batch/read", `{"idProperty":"email","inputs":[{"id":"p0@example.com"}],"properties":["email"],"propertiesWithHistory":[]}`, 200, false},
		{"archive with properties", "/crm/v3/objects/contacts/batch/archive", `{"inputs":[{"id":"1","properties":{}}]}`, 400, true},
		{"valid archive", "/crm/v3/objects/contacts/batch/archive", `{"inputs":[{"id":"1"}]}`, 204, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := srv.Stats().Invalid
			resp, body := post(t, srv, c.path, c.body)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %v", resp.StatusCode, c.status, body)
			}
			if got := srv.Stats().Invalid - before; got != map[bool]int64{false: 0, true: 1}[c.invalid] {
				t.Errorf("counted %d invalid, want invalid=%v", got, c.invalid)
			}
		})
	}
}

// TestPerRecordErrors: a 207 names each refused record by its id in the
// error's context, the others are applied, and nothing is invalid.
func TestPerRecordErrors(t *testing.T) {
	srv := New(Config{Properties: map[string][]Property{"contacts": {EnumProperty("plan", false, "free", "pro")}}})
	defer srv.Close()
	resp, body := post(t, srv, "/crm/v3/objects/contacts/batch/upsert", inputs(4, func(i int) string {
		email, plan := fmt.Sprintf("p%d@example.com", i), "free"
		switch i {
		case 1:
			email = "not-an-email"
		case 3:
			plan = "gold"
		}
		return fmt.Sprintf(`{"id":%q,"idProperty":"email","objectWriteTraceId":"%d","properties":{"plan":%q}}`, email, i, plan)
	}))
	if resp.StatusCode != http.StatusMultiStatus {
		t.Fatalf("status %d: %v", resp.StatusCode, body)
	}
	var named []string
	for _, e := range body["errors"].([]any) {
		for _, id := range e.(map[string]any)["context"].(map[string]any)["ids"].([]any) {
			named = append(named, id.(string))
		}
	}
	if fmt.Sprint(named) != "[p3@example.com not-an-email]" && fmt.Sprint(named) != "[not-an-email p3@example.com]" {
		t.Errorf("errors name %v, want the two bad records", named)
	}
	if st := srv.Stats(); st.LiveRecords != 2 || st.RejectedRecords != 2 || st.Invalid != 0 {
		t.Errorf("stats %+v: want 2 stored, 2 rejected, 0 invalid", st)
	}
}

// TestLimits: the ten-secondly rolling limit and the daily one answer 429
// with their policy names and HubSpot's headers.
func TestLimits(t *testing.T) {
	srv := New(Config{TenSecondly: 3, Daily: 5})
	defer srv.Close()
	read := func() (int, string, http.Header) {
		resp, body := post(t, srv, "/crm/v3/objects/contacts/batch/archive", `{"inputs":[{"id":"1"}]}`)
		p, _ := body["policyName"].(string)
		return resp.StatusCode, p, resp.Header
	}
	for i := range 3 {
		status, _, h := read()
		if status != 204 || h.Get("X-HubSpot-RateLimit-Remaining") != fmt.Sprint(2-i) || h.Get("X-HubSpot-RateLimit-Max") != "3" {
			t.Fatalf("request %d: %d, remaining %q", i+1, status, h.Get("X-HubSpot-RateLimit-Remaining"))
		}
	}
	if status, policy, _ := read(); status != 429 || policy != "TEN_SECONDLY_ROLLING" {
		t.Fatalf("4th request in ten seconds: %d %q", status, policy)
	}
	st := srv.Stats()
	if st.Limited != 1 || st.MaxPer10s != 4 {
		t.Errorf("limited %d, most in ten seconds %d; want 1 and 4 (the refused one arrived too)", st.Limited, st.MaxPer10s)
	}
	// the daily limit, once the window has passed (moved back by hand)
	srv.mu.Lock()
	for i := range srv.window {
		srv.window[i] = srv.window[i].Add(-window)
	}
	srv.mu.Unlock()
	for range 2 {
		if status, _, _ := read(); status != 204 {
			t.Fatalf("status %d", status)
		}
	}
	status, policy, h := read()
	if status != 429 || policy != "DAILY" || h.Get("X-HubSpot-RateLimit-Daily-Remaining") != "0" {
		t.Fatalf("6th request of the day: %d %q, daily remaining %q", status, policy, h.Get("X-HubSpot-RateLimit-Daily-Remaining"))
	}
}

func TestCountSpan(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(secs ...float64) []time.Time {
		var ts []time.Time
		for _, s := range secs {
			ts = insertTime(ts, t0.Add(time.Duration(s*float64(time.Second))))
		}
		return ts
	}
	for _, c := range []struct {
		secs []float64
		want int
	}{
		{nil, 0},
		{[]float64{0}, 1},
		{[]float64{0, 9.9}, 2},
		{[]float64{0, 10}, 1}, // ten seconds apart: not within one span
		{[]float64{5, 0, 9, 12, 14.5}, 4},
		{[]float64{0, 1, 2, 11.5, 11.6, 11.7}, 4},
	} {
		ts := at(c.secs...)
		for i := 1; i < len(ts); i++ {
			if ts[i].Before(ts[i-1]) {
				t.Fatalf("%v: insertTime left %v unsorted", c.secs, ts)
			}
		}
		if got := countSpan(ts); got != c.want {
			t.Errorf("countSpan(%v) = %d, want %d", c.secs, got, c.want)
		}
	}
}

func TestMeanPer10s(t *testing.T) {
	flat := make([]int, 31)
	for i := range flat {
		flat[i] = 19
	}
	if got := MeanPer10s(flat); got != 190 {
		t.Errorf("19 a second: %v, want 190", got)
	}
	stair := make([]int, 41) // 190 at 0, 10, 20, 30; the last second partial
	for k := 0; k < 41; k += 10 {
		stair[k] = 190
	}
	if got := MeanPer10s(stair); got != 190 {
		t.Errorf("190 every ten seconds: %v, want 190", got)
	}
	stall := append(append([]int{}, flat[:10]...), make([]int, 10)...)
	stall = append(stall, flat[:11]...)
	if got := MeanPer10s(stall); got >= 190*0.7 {
		t.Errorf("with a ten-second stall: %v, want well under 190", got)
	}
	if got := MeanPer10s(flat[:10]); got != 0 {
		t.Errorf("a run of ten seconds: %v, want 0 (no full window)", got)
	}
}
