package sync_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hoist-dev/hoist/load/crmtest"
	hsync "github.com/hoist-dev/hoist/sync"
)

const crmToken = "tok-e2e-5ecret"

// TestHTTPMirrorUnderFaults runs mirror and upsert syncs through the whole
// pipeline into the fake CRM under 10% 5xx, 5% timeouts (applied, never
// answered), bursts of 429 and connection resets. The fake ends holding
// exactly the valid source rows; rejected rows are exactly the invalid ones;
// the rate never passed limit + burst; the token appears nowhere.
func TestHTTPMirrorUnderFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	injector.set(nil, 0)
	srv := crmtest.New(crmtest.Config{
		Seed: 7, Token: crmToken, EchoAuth: true,
		RateLimit: 400, Burst: 40,
		ErrorRate: 0.10, TimeoutRate: 0.05, Throttle429Every: 60, ResetEvery: 100,
	})
	defer srv.Close()
	dir := t.TempDir()
	t.Setenv("CRM_TOKEN", crmToken)
	specText := fmt.Sprintf(`version: 1
connections:
  src: {type: files, path: ., format: csv}
  crm:
    type: http
    base_url: %s
    headers: {Authorization: "Bearer ${CRM_TOKEN}"}
    rate_limit: {requests_per_second: 300, burst: 20}
    timeout: 300ms
    max_retries: 10
syncs:
  - name: contacts
    source: {connection: src, path: people.csv}
    destination:
      connection: crm
      mode: mirror
      primary_key: [id]
      operations:
        upsert: {method: POST, path: /contacts/batch, batch: true}
        delete: {method: POST, path: /contacts/batch/delete, batch: true}
    mappings:
      - {from: id, to: id}
      - {from: email, to: email}
      - {from: name, to: properties.full_name}
      - {value: hoist, to: properties.source}
    batch_size: 20
    concurrency: 8
    on_reject: {file: rejected.jsonl}
    max_delete_fraction: 1
`, srv.URL)
	f, store := loadSpecAndStore(t, dir, specText)
	ctx := context.Background()
	var logs bytes.Buffer
	r := &hsync.Runner{File: f, Store: store, Opt: hsync.Options{TempDir: dir, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}}

	type contact struct{ email, name string }
	write := func(src map[int]contact) {
		var b strings.Builder
		b.WriteString("id,email,name\n")
		for id := 1; id <= 3000; id++ {
			if c, ok := src[id]; ok {
				fmt.Fprintf(&b, "%d,%s,%s\n", id, c.email, c.name)
			}
		}
		os.WriteFile(filepath.Join(dir, "people.csv"), []byte(b.String()), 0o644)
	}
	src := map[int]contact{}
	invalid := map[int]bool{}
	for id := 1; id <= 2000; id++ {
		email := fmt.Sprintf("p%d@example.com", id)
		if id%97 == 0 {
			email = fmt.Sprintf("not-an-email-%d", id)
			invalid[id] = true
		}
		src[id] = contact{email, fmt.Sprintf("Person %d", id)}
	}
	check := func(step string) {
		t.Helper()
		got := srv.Records()
		valid := 0
		for id, c := range src {
			rec, ok := got[fmt.Sprint(id)]
			if invalid[id] {
				if ok {
					t.Fatalf("%s: invalid row %d reached the CRM", step, id)
				}
				continue
			}
			valid++
			if !ok || rec["email"] != c.email || rec["properties"].(map[string]any)["full_name"] != c.name {
				t.Fatalf("%s: id %d: CRM has %v, source %+v", step, id, rec, c)
			}
		}
		if len(got) != valid {
			t.Fatalf("%s: CRM holds %d records, source has %d valid rows", step, len(got), valid)
		}
	}
	runUntilOK := func(step string) *hsync.Report {
		t.Helper()
		var rep *hsync.Report
		for i := 0; i < 3; i++ {
			rep = r.Run(ctx, f.Syncs[0])
			if rep.Status != hsync.StatusFailed {
				return rep
			}
			t.Logf("%s: attempt %d failed (%s), rerunning", step, i+1, rep.Error)
		}
		t.Fatalf("%s: %+v", step, rep)
		return rep
	}

	write(src)
	rep := runUntilOK("initial")
	check("initial")
	if rep.Status != hsync.StatusPartial || rep.Rejected != int64(len(invalid)) {
		t.Fatalf("initial: %d rejected (%s), want exactly the %d invalid rows", rep.Rejected, rep.Status, len(invalid))
	}
	// edit: change 200, delete 300, add 500, fix one invalid row
	for id := 1; id <= 200; id++ {
		src[id] = contact{fmt.Sprintf("new%d@example.com", id), src[id].name}
		delete(invalid, id) // now valid
	}
	for id := 1500; id < 1800; id++ {
		delete(src, id)
		delete(invalid, id)
	}
	for id := 2001; id <= 2500; id++ {
		src[id] = contact{fmt.Sprintf("p%d@example.com", id), fmt.Sprintf("Person %d", id)}
	}
	write(src)
	runUntilOK("edited")
	check("edited")

	st := srv.Stats()
	if st.MaxPerSecond > 300+20 {
		t.Fatalf("CRM saw %d requests in one second, limit 300 + burst 20", st.MaxPerSecond)
	}
	if st.Injected5xx == 0 || st.Timeouts == 0 || st.Injected429 == 0 || st.Resets == 0 {
		t.Fatalf("fault mix not exercised: %+v", st)
	}
	rejected, _ := os.ReadFile(filepath.Join(dir, "rejected.jsonl"))
	for name, text := range map[string]string{"logs": logs.String(), "rejected file": string(rejected)} {
		if strings.Contains(text, crmToken) {
			t.Fatalf("token leaked into %s", name)
		}
	}
}
