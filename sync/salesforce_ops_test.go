package sync_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/hoist-dev/hoist/internal/salesforcetest"
	"github.com/hoist-dev/hoist/load"
	hsync "github.com/hoist-dev/hoist/sync"
)

// opsSpec has one sync per operation over the opps table.
func opsSpec(url string) string {
	sync := func(name, mode, extra string) string {
		return fmt.Sprintf(`  - name: %s
    source: {connection: wh, table: opps}
    destination:
      connection: sf
      object: Opportunity
      mode: %s
      primary_key: [Ext_Id__c]
%s    on_reject: {file: rejected-%s.jsonl}
`, name, mode, extra, name)
	}
	return fmt.Sprintf(`version: 1
connections:
  wh: {type: sqlite, path: source.db}
  sf:
    type: salesforce
    login_url: %s
    client_id: 3MVG9hoistTestConsumerKey
    username: integration@acme.example
    private_key: ${SF_PRIVATE_KEY}
    poll_interval: 20ms
syncs:
`, url) + sync("ins", "insert", "") + sync("upd", "update", "") + sync("mir", "mirror", "      hard_delete: true\n      bulk_threshold: 1000\n")
}

func numbered(from, to int) map[string]opp {
	out := map[string]opp{}
	for i := from; i < to; i++ {
		o := makeOpp(i)
		out[o.ext] = o
	}
	return out
}

// TestSalesforceOperations drives each Bulk API operation through its
// mode: insert (mode insert, 3,000 new records), update (mode update of
// records it has no IDs for: looked up by SOQL, then updated by ID),
// upsert (mirror's first load of records that exist) and hardDelete
// (mirror with hard_delete), each ending exactly as the source says.
func TestSalesforceOperations(t *testing.T) {
	srv, key := newSalesforce(t, salesforcetest.Config{KeepLog: true})
	e := newSFEnv(t, opsSpec(srv.URL), key)

	src := numbered(0, 3_000)
	rep := e.runSync("insert", 0, src)
	if rep.Status != hsync.StatusOK || rep.Delivered != 3_000 {
		t.Fatalf("insert: %s, %d delivered", rep.Status, rep.Delivered)
	}
	checkExact(t, "insert", srv, src, nil)
	if ops := srv.Stats().JobOps; fmt.Sprint(ops) != "map[insert:1]" {
		t.Errorf("insert: jobs %v, want one insert job", ops)
	}
	srv.ResetLog()

	for k, o := range src { // mode update: new values for every record
		o.stage = "Closed Won"
		o.next = sp("signed")
		src[k] = o
	}
	rep = e.runSync("update", 1, src)
	if rep.Status != hsync.StatusOK || rep.Delivered != 3_000 {
		t.Fatalf("update: %s, %d delivered: %s", rep.Status, rep.Delivered, rep.Error)
	}
	checkExact(t, "update", srv, src, nil)
	st := srv.Stats()
	if fmt.Sprint(st.JobOps) != "map[update:1]" || st.ByEndpoint["query"] != 30 {
		t.Errorf("update: jobs %v and %d ID lookups; want one update job after 30 queries of 100 external IDs", st.JobOps, st.ByEndpoint["query"])
	}
	srv.ResetLog()

	src[makeOpp(9_999).ext] = makeOpp(9_999)
	rep = e.runSync("mirror", 2, src)
	if rep.Status != hsync.StatusOK || rep.Delivered != 3_001 {
		t.Fatalf("mirror: %s, %d delivered: %s", rep.Status, rep.Delivered, rep.Error)
	}
	checkExact(t, "mirror", srv, src, nil)
	if ops := srv.Stats().JobOps; fmt.Sprint(ops) != "map[upsert:1]" {
		t.Errorf("mirror: jobs %v, want one upsert job", ops)
	}
	_, ids := sfByExt(srv)
	srv.ResetLog()

	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range src {
			if !yield(k) {
				return
			}
		}
	})
	var gone []string
	for _, k := range keys[:1_400] {
		gone = append(gone, ids[k])
		delete(src, k)
	}
	rep = e.runSync("hard delete", 2, src)
	if rep.Status != hsync.StatusOK || rep.Removed != 1_400 {
		t.Fatalf("hard delete: %s, -%d: %s", rep.Status, rep.Removed, rep.Error)
	}
	checkExact(t, "hard delete", srv, src, nil)
	if ops := srv.Stats().JobOps; fmt.Sprint(ops) != "map[hardDelete:1]" {
		t.Errorf("hard delete: jobs %v, want one hardDelete job", ops)
	}
	if bin := srv.Deleted("Opportunity"); len(bin) != 0 {
		t.Errorf("hard delete: %d records in the recycle bin, want none", len(bin))
	}
	uploads := srv.Uploads("Opportunity")
	sort.Strings(gone)
	for _, id := range gone {
		if uploads[id] != 1 {
			t.Fatalf("hard delete: record %s uploaded %d times, want once by its ID", id, uploads[id])
		}
	}
}

// TestSalesforceSmallChangesUseCollections: a first load of 50,000 rows
// goes through Bulk jobs, a 50-row change through one collections request,
// and a 50,000-row change through Bulk again.
func TestSalesforceSmallChangesUseCollections(t *testing.T) {
	srv, key := newSalesforce(t, salesforcetest.Config{})
	e := newSFEnv(t, sfSpec(srv.URL, "mirror", ""), key)
	src := numbered(0, 50_000)
	if rep := e.run("first load", src); rep.Delivered != 50_000 {
		t.Fatalf("first load: %d delivered", rep.Delivered)
	}
	st := srv.Stats()
	if st.Jobs == 0 || st.CollectionRecords != 0 || st.MaxUpload > 100<<20 {
		t.Errorf("first load: %d jobs, %d records through collections, largest upload %d bytes; want Bulk only, under 100 MB a job", st.Jobs, st.CollectionRecords, st.MaxUpload)
	}
	srv.ResetLog()
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range src {
			if !yield(k) {
				return
			}
		}
	})
	for _, k := range keys[:50] {
		o := src[k]
		o.prob = fp(99)
		src[k] = o
	}
	rep := e.run("50 changes", src)
	if rep.Delivered != 50 {
		t.Fatalf("50 changes: %d delivered", rep.Delivered)
	}
	st = srv.Stats()
	if st.Jobs != 0 || st.CollectionRecords != 50 || st.ByEndpoint["collections upsert"] != 1 {
		t.Errorf("50 changes: %d jobs, %d records in %d collections requests; want one request, no job", st.Jobs, st.CollectionRecords, st.ByEndpoint["collections upsert"])
	}
	checkExact(t, "50 changes", srv, src, nil)
	srv.ResetLog()
	for _, k := range keys[100:130] {
		delete(src, k)
	}
	if rep := e.run("30 deletes", src); rep.Removed != 30 {
		t.Fatalf("30 deletes: -%d", rep.Removed)
	}
	if st := srv.Stats(); st.Jobs != 0 || st.ByEndpoint["collections delete"] != 1 || len(srv.Deleted("Opportunity")) != 30 {
		t.Errorf("30 deletes: %d jobs, %d collections deletes, %d in the recycle bin; want one request, 30 deleted", st.Jobs, st.ByEndpoint["collections delete"], len(srv.Deleted("Opportunity")))
	}
	checkExact(t, "30 deletes", srv, src, nil)
	srv.ResetLog()
	for k, o := range src {
		o.prob = fp(float64(*o.prob) + 1000) // every row changes
		src[k] = o
	}
	if rep := e.run("49,970 changes", src); rep.Delivered != 49_970 {
		t.Fatalf("49,970 changes: %d delivered, %d rejected, %s %s %s", rep.Delivered, rep.Rejected, rep.Status, rep.Stopped, rep.Error)
	}
	if st := srv.Stats(); st.Jobs == 0 || st.CollectionRecords > 2_000 {
		t.Errorf("50,000 changes: %d jobs, %d records through collections; want Bulk", st.Jobs, st.CollectionRecords)
	}
	checkExact(t, "50,000 changes", srv, src, nil)
}

// TestSalesforceFaults: a job that fails midway leaves its unprocessed
// records pending (the run is partial and the next sends them); row locks
// are retried; 503s are retried; an expired session is renewed; the
// private key is in no report, state file or rejected rows file.
func TestSalesforceFaults(t *testing.T) {
	srv, key := newSalesforce(t, salesforcetest.Config{FailJobs: 1, KeepLog: true})
	e := newSFEnv(t, sfSpec(srv.URL, "mirror", ""), key)
	src := numbered(0, 4_000)
	src["OPP-BAD"] = func() opp { o := makeOpp(1); o.ext = "OPP-BAD"; o.email = sp("nowhere"); return o }()
	rep := e.run("failed job", src)
	if rep.Status != hsync.StatusPartial || rep.Delivered+rep.Rejected >= 4_001 || !strings.Contains(rep.Stopped, "unprocessed") {
		t.Fatalf("failed job: %s, %d delivered, %d rejected, stopped %q; want partial with the unprocessed half pending", rep.Status, rep.Delivered, rep.Rejected, rep.Stopped)
	}
	first := rep.Delivered
	got, _ := sfByExt(srv)
	if int64(len(got)) != first {
		t.Errorf("failed job: Salesforce holds %d records, the run delivered %d", len(got), first)
	}
	srv.ExpireTokens()
	srv.SetFaults(0, 25, 7, 0)
	srv.ResetLog()
	rep = e.run("rerun", src)
	if rep.Status != hsync.StatusPartial || rep.Delivered+first != 4_000 || rep.Rejected != 1 {
		t.Fatalf("rerun: %s, %d delivered (+%d before), %d rejected: %s %s", rep.Status, rep.Delivered, first, rep.Rejected, rep.Stopped, rep.Error)
	}
	checkExact(t, "rerun", srv, src, map[string]bool{"OPP-BAD": true})
	st := srv.Stats()
	if st.Tokens != 1 || st.Expired == 0 {
		t.Errorf("rerun: %d sessions granted after %d expired requests; want the expired session renewed once", st.Tokens, st.Expired)
	}
	if st.ByEndpoint["5xx"] == 0 {
		t.Error("rerun: no 503 was answered: the fault did not run")
	}
	twice := 0
	for k, n := range srv.Uploads("Opportunity") {
		switch {
		case n == 2:
			twice++ // a record the fake refused UNABLE_TO_LOCK_ROW, sent again
		case n != 1:
			t.Errorf("rerun: %s uploaded %d times", k, n)
		}
	}
	if twice != 25 {
		t.Errorf("rerun: %d records sent twice, want the 25 the fake locked", twice)
	}

	// the private key, and the session's token, appear nowhere hoist writes
	body := strings.Split(strings.TrimSpace(key), "\n")
	needles := []string{body[1], body[len(body)/2], body[len(body)-2]}
	out, _ := json.Marshal(rep)
	scan := func(what string, data []byte) {
		for _, n := range needles {
			if strings.Contains(string(data), n) {
				t.Errorf("%s holds a line of the private key", what)
			}
		}
		if strings.Contains(string(data), "00D000000000001!AQ") {
			t.Errorf("%s holds a session token", what)
		}
	}
	scan("the report", out)
	filepath.WalkDir(e.dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasSuffix(p, ".yaml") {
			b, _ := os.ReadFile(p)
			scan(p, b)
		}
		return nil
	})
}

// TestSalesforcePlanChecksDescribe: plan and validate --connect hold the
// mapped fields to the object's describe: a field it lacks (with the
// closest name), one that is not updateable, a key that is not an external
// ID, and a column type that cannot fill a field are named before anything
// is sent.
func TestSalesforcePlanChecksDescribe(t *testing.T) {
	srv, key := newSalesforce(t, salesforcetest.Config{})
	for _, tc := range []struct {
		name, mappings, key, want string
	}{
		{"missing field", "      - {from: NextStep, to: NextStp}\n", "Ext_Id__c", "mapped field NextStp is not a field of Opportunity (did you mean NextStep?)"},
		{"read-only field", "      - {from: Amount, to: ExpectedRevenue}\n", "Ext_Id__c", "field ExpectedRevenue of Opportunity is not createable"},
		{"key not external", "", "Name", "the key Name is not an external ID field"},
		{"type", "      - {from: Name, to: CloseDate}\n", "Ext_Id__c", ""},
		{"clean", "", "Ext_Id__c", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mappings := ""
			if tc.mappings != "" {
				mappings = "    mappings:\n      - {from: Ext_Id__c, to: Ext_Id__c}\n      - {from: Name, to: Name}\n" + tc.mappings
				if tc.name == "type" {
					mappings = "    mappings:\n      - {from: Ext_Id__c, to: Ext_Id__c}\n      - {from: IsPrivate, to: CloseDate}\n"
					tc.want = "field CloseDate is a date; map a date or timestamp, not a bool"
				}
			}
			text := strings.Replace(sfSpec(srv.URL, "mirror", ""), "primary_key: [Ext_Id__c]", "primary_key: ["+tc.key+"]", 1)
			text = strings.Replace(text, "    destination:\n", mappings+"    destination:\n", 1)
			e := newSFEnv(t, text, key)
			writeOpps(t, filepath.Join(e.dir, "source.db"), numbered(0, 10))
			pr, err := (&hsync.Runner{File: e.f, Store: e.store, Opt: hsync.Options{TempDir: e.dir}}).Plan(context.Background(), e.f.Syncs[0])
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(pr.Warnings, "\n")
			switch {
			case tc.want == "" && strings.Contains(got, "run would fail"):
				t.Errorf("plan: %s", got)
			case tc.want != "" && !strings.Contains(got, tc.want):
				t.Errorf("plan says %q, want it to say %q", got, tc.want)
			}
			if tc.want != "" && tc.name != "type" {
				conn := e.f.Connections["sf"]
				if err := load.CheckSync(context.Background(), conn, e.dir, e.f.Syncs[0]); err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("validate --connect: %v, want %q", err, tc.want)
				}
			}
			if srv.Stats().ByEndpoint["jobs create"]+srv.Stats().ByEndpoint["collections upsert"] != 0 {
				t.Error("plan sent records")
			}
		})
	}
}
