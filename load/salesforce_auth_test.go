package load_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hoist-dev/hoist/internal/salesforcetest"
	"github.com/hoist-dev/hoist/internal/sqlitedb"
	"github.com/hoist-dev/hoist/load"
	hsync "github.com/hoist-dev/hoist/sync"
	"github.com/hoist-dev/hoist/sync/spec"
	"github.com/hoist-dev/hoist/sync/state"
)

// The OAuth 2.0 client credentials flow end to end: a sync whose
// connection says auth: client_credentials gets its session from the org's
// My Domain token endpoint (instance_url) with the connected app's
// consumer key and secret, and runs the flow again when the session
// expires.

const (
	sfCCClientID = "3MVG9clientCredentialsKey"
	sfCCSecret   = "cc-secret-4f1e9a0b7c"
)

// sfCCSpec syncs the customers table into Customer__c, the secret read
// from SF_CLIENT_SECRET as a spec would.
func sfCCSpec(url, conn string) string {
	return fmt.Sprintf(`version: 1
connections:
  wh: {type: sqlite, path: source.db}
  %s:
    type: salesforce
    auth: client_credentials
    instance_url: %s
    client_id: %s
    client_secret: ${SF_CLIENT_SECRET}
    poll_interval: 10ms
    max_retries: 1
syncs:
  - name: customers
    source: {connection: wh, table: customers}
    destination:
      connection: %s
      object: Customer__c
      mode: upsert
      primary_key: [Customer_Id__c]
`, conn, url, sfCCClientID, conn)
}

// sfCCEnv is one spec folder: the source database, the spec, the state.
type sfCCEnv struct {
	t     *testing.T
	dir   string
	f     *spec.File
	store state.Store
}

func newSFCCEnv(t *testing.T, url, conn, secret string) *sfCCEnv {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("SF_CLIENT_SECRET", secret)
	path := filepath.Join(dir, "hoist.yaml")
	if err := os.WriteFile(path, []byte(sfCCSpec(url, conn)), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := spec.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	store, err := state.Open(context.Background(), "file://"+filepath.Join(dir, ".hoist"), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return &sfCCEnv{t: t, dir: dir, f: f, store: store}
}

// run writes customers 1..n (names carrying tag) and runs the sync.
func (e *sfCCEnv) run(n int, tag string) *hsync.Report {
	e.t.Helper()
	db, err := sqlitedb.OpenWrite(context.Background(), filepath.Join(e.dir, "source.db"))
	if err != nil {
		e.t.Fatal(err)
	}
	for _, q := range []string{"DROP TABLE IF EXISTS customers", "CREATE TABLE customers (Customer_Id__c TEXT PRIMARY KEY, Name TEXT)"} {
		if _, err := db.Exec(q); err != nil {
			e.t.Fatal(err)
		}
	}
	for i := 1; i <= n; i++ {
		if _, err := db.Exec("INSERT INTO customers VALUES (?, ?)", fmt.Sprintf("C%04d", i), fmt.Sprintf("Customer %d %s", i, tag)); err != nil {
			e.t.Fatal(err)
		}
	}
	db.Close()
	return (&hsync.Runner{File: e.f, Store: e.store, Opt: hsync.Options{TempDir: e.dir}}).Run(context.Background(), e.f.Syncs[0])
}

func newSFCCOrg(t *testing.T) *salesforcetest.Server {
	t.Helper()
	srv := salesforcetest.New(salesforcetest.Config{ClientID: sfCCClientID, ClientSecret: sfCCSecret,
		Objects: []salesforcetest.Object{salesforcetest.Customer()}})
	t.Cleanup(srv.Close)
	return srv
}

// checkCustomers holds the org to customers 1..n named with tag.
func checkCustomers(t *testing.T, step string, srv *salesforcetest.Server, n int, tag string) {
	t.Helper()
	if got := srv.Count("Customer__c"); got != n {
		t.Errorf("%s: the org holds %d customers, want %d", step, got, n)
	}
	for i := 1; i <= n; i++ {
		rec := srv.Lookup("Customer__c", "Customer_Id__c", fmt.Sprintf("C%04d", i))
		if want := fmt.Sprintf("Customer %d %s", i, tag); rec == nil || rec["Name"] != want {
			t.Errorf("%s: customer C%04d is %v, want Name %q", step, i, rec, want)
			return
		}
	}
	if st := srv.Stats(); st.Invalid != 0 {
		t.Errorf("%s: %d requests were invalid: %v", step, st.Invalid, st.InvalidReasons)
	}
}

// TestSalesforceClientCredentials: a sync with auth: client_credentials
// loads its rows, getting one session for the run; once the org ends the
// session, the next run's first request is answered 401, the flow runs
// again (once), and the run loads its changes with the new session.
func TestSalesforceClientCredentials(t *testing.T) {
	srv := newSFCCOrg(t)
	e := newSFCCEnv(t, srv.URL, "sf_cc", sfCCSecret)

	rep := e.run(25, "v1")
	if rep.Status != hsync.StatusOK || rep.Delivered != 25 {
		t.Fatalf("first run: %s, %d delivered: %s", rep.Status, rep.Delivered, rep.Error)
	}
	checkCustomers(t, "first run", srv, 25, "v1")
	st := srv.Stats()
	if st.Tokens != 1 || st.ByEndpoint["oauth token"] != 1 {
		t.Errorf("first run: %d sessions granted in %d token requests, want 1 in 1", st.Tokens, st.ByEndpoint["oauth token"])
	}

	srv.ExpireTokens()
	rep = e.run(25, "v2")
	if rep.Status != hsync.StatusOK || rep.Delivered != 25 {
		t.Fatalf("run after the session expired: %s, %d delivered: %s", rep.Status, rep.Delivered, rep.Error)
	}
	checkCustomers(t, "run after the session expired", srv, 25, "v2")
	st = srv.Stats()
	if st.Expired == 0 {
		t.Errorf("no request met the expired session: the test proves nothing")
	}
	if st.Tokens != 2 || st.ByEndpoint["oauth token"] != 2 {
		t.Errorf("after the session expired: %d sessions granted in %d token requests, want one more of each (2 in 2)", st.Tokens, st.ByEndpoint["oauth token"])
	}
}

// TestSalesforceClientCredentialsWrongSecret: a secret the org refuses
// (400 invalid_client, as Salesforce answers) fails the run, and the check
// of validate --connect, with an error that says what was refused and
// where, and never quotes the secret.
func TestSalesforceClientCredentialsWrongSecret(t *testing.T) {
	srv := newSFCCOrg(t)
	const wrong = "wrong-secret-93b1d2e8aa"
	e := newSFCCEnv(t, srv.URL, "sf_cc_wrong", wrong)

	rep := e.run(3, "v1")
	if rep.Status != hsync.StatusFailed {
		t.Fatalf("a run with a wrong client secret: %s (%d delivered), want failed", rep.Status, rep.Delivered)
	}
	_, checkErr := load.Check(context.Background(), e.f.Connections["sf_cc_wrong"], e.dir)
	if checkErr == nil {
		t.Fatal("validate --connect's check of a wrong client secret passed")
	}
	for what, msg := range map[string]string{"the run's error": rep.Error, "the check's error": checkErr.Error()} {
		for _, want := range []string{"client_credentials", "invalid_client", "client_secret its consumer secret"} {
			if !strings.Contains(msg, want) {
				t.Errorf("%s %q does not say %q", what, msg, want)
			}
		}
		for _, secret := range []string{wrong, sfCCSecret} {
			if strings.Contains(msg, secret) {
				t.Errorf("%s quotes a client secret: %q", what, msg)
			}
		}
	}
	if n := srv.Count("Customer__c"); n != 0 {
		t.Errorf("the org holds %d customers after a refused login", n)
	}
	if st := srv.Stats(); st.Tokens != 0 || st.Requests != 0 {
		t.Errorf("a refused secret got %d sessions and sent %d API requests, want none", st.Tokens, st.Requests)
	}
}
