package sync_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/hoist-dev/hoist/internal/salesforcetest"
	hsync "github.com/hoist-dev/hoist/sync"
	"github.com/hoist-dev/hoist/sync/spec"
	"github.com/hoist-dev/hoist/sync/state"
)

// sfRun runs the spec's first sync over src and fails the test on a
// failed run.
type sfEnv struct {
	t     *testing.T
	dir   string
	f     *spec.File
	store state.Store
}

func newSFEnv(t *testing.T, specText, key string) *sfEnv {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("SF_PRIVATE_KEY", key)
	f := loadSpec(t, dir, specText)
	store, err := state.Open(context.Background(), "file://"+filepath.Join(dir, ".hoist"), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return &sfEnv{t: t, dir: dir, f: f, store: store}
}

func (e *sfEnv) run(step string, src map[string]opp) *hsync.Report {
	e.t.Helper()
	return e.runSync(step, 0, src)
}

func (e *sfEnv) runSync(step string, sync int, src map[string]opp) *hsync.Report {
	e.t.Helper()
	writeOpps(e.t, filepath.Join(e.dir, "source.db"), src)
	rep := (&hsync.Runner{File: e.f, Store: e.store, Opt: hsync.Options{TempDir: e.dir}}).Run(context.Background(), e.f.Syncs[sync])
	if rep.Status == hsync.StatusFailed {
		e.t.Fatalf("%s: %s", step, rep.Error)
	}
	return rep
}

// rejected reads the rejected rows file: external ID → error.
func (e *sfEnv) rejected() map[string]string {
	out := map[string]string{}
	fh, err := os.Open(filepath.Join(e.dir, "rejected.jsonl"))
	if os.IsNotExist(err) {
		return out
	}
	if err != nil {
		e.t.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line struct {
			Key   map[string]any `json:"key"`
			Error string         `json:"error"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			e.t.Fatal(err)
		}
		out[fmt.Sprint(line.Key["Ext_Id__c"])] = line.Error
	}
	return out
}

// checkExact holds the fake to src less the keys in bad.
func checkExact(t *testing.T, step string, srv *salesforcetest.Server, src map[string]opp, bad map[string]bool) {
	t.Helper()
	got, _ := sfByExt(srv)
	n := 0
	for ext, o := range src {
		if bad[ext] {
			if _, ok := got[ext]; ok {
				t.Errorf("%s: the refused record %s is in Salesforce", step, ext)
			}
			continue
		}
		n++
		if g, want := got[ext], o.fields(); fmt.Sprint(g) != fmt.Sprint(want) {
			t.Errorf("%s: record %s\n got %v\nwant %v", step, ext, g, want)
			if n > 3 {
				t.FailNow()
			}
		}
	}
	if len(got) != n {
		t.Errorf("%s: Salesforce holds %d opportunities, want %d", step, len(got), n)
	}
	if st := srv.Stats(); st.Invalid != 0 {
		t.Fatalf("%s: %d requests were invalid: %v", step, st.Invalid, st.InvalidReasons)
	}
}

// TestSalesforceMirror: a mirror of 5,000 opportunities into the fake (one
// Bulk upsert job), then edits — 2 fields changed in 400 rows, NULLs in
// 100, 600 deletes, 300 adds of which 10 carry an address Salesforce
// refuses. The fake ends exactly equal to the source less the 10; the
// changes send only the changed fields (a NULL as #N/A); the deletes go by
// the record IDs the upsert answered; the rejected rows file holds exactly
// the 10 with Salesforce's sf__Error; a rerun sends only the 10 again.
func TestSalesforceMirror(t *testing.T) {
	srv, key := newSalesforce(t, salesforcetest.Config{KeepLog: true})
	e := newSFEnv(t, sfSpec(srv.URL, "mirror", "      bulk_threshold: 500\n"), key)
	src := map[string]opp{}
	for i := range 5_000 {
		o := makeOpp(i)
		src[o.ext] = o
	}
	rep := e.run("first load", src)
	if rep.Status != hsync.StatusOK || rep.Delivered != 5_000 {
		t.Fatalf("first load: %s, %d delivered: %s", rep.Status, rep.Delivered, rep.Error)
	}
	checkExact(t, "first load", srv, src, nil)
	st := srv.Stats()
	if st.Jobs == 0 || st.CollectionRecords != 0 || st.BulkRecords != 5_000 {
		t.Errorf("first load: %d jobs, %d records through collections, %d through Bulk; want all 5,000 through Bulk", st.Jobs, st.CollectionRecords, st.BulkRecords)
	}
	_, idsBefore := sfByExt(srv)
	srv.ResetLog()

	keys := make([]string, 0, len(src))
	for k := range src {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	changed, nulled, deleted, bad := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, k := range keys[:400] {
		o := src[k]
		o.next = sp(*o.next + " (moved)")
		o.amount = fp(*o.amount + 1000)
		src[k] = o
		changed[k] = true
	}
	for _, k := range keys[400:500] {
		o := src[k]
		o.next, o.seats = nil, nil
		src[k] = o
		nulled[k] = true
	}
	for _, k := range keys[500:1100] {
		delete(src, k)
		deleted[k] = true
	}
	for i := range 300 {
		o := makeOpp(50_000 + i)
		if i%30 == 7 {
			o.email = sp(fmt.Sprintf("not-an-address-%d", i))
			bad[o.ext] = true
		}
		src[o.ext] = o
	}
	rep = e.run("edits", src)
	if rep.Added != 300 || rep.Changed != 500 || rep.Removed != 600 {
		t.Errorf("edits: +%d ~%d -%d, want +300 ~500 -600", rep.Added, rep.Changed, rep.Removed)
	}
	if rep.Status != hsync.StatusPartial || rep.Rejected != 10 || rep.Delivered != 1390 {
		t.Errorf("edits: %s, %d delivered, %d rejected; want partial, 1390, 10 (%s)", rep.Status, rep.Delivered, rep.Rejected, rep.Error)
	}
	checkExact(t, "edits", srv, src, bad)

	rej := e.rejected()
	if len(rej) != len(bad) {
		t.Errorf("rejected %d rows, want exactly the %d bad ones: %v", len(rej), len(bad), rej)
	}
	for k := range bad {
		if !strings.Contains(rej[k], "INVALID_EMAIL_ADDRESS") {
			t.Errorf("rejected %s: error %q does not carry Salesforce's sf__Error", k, rej[k])
		}
	}
	sent := srv.Sent("Opportunity")
	for k := range changed {
		if got := fmt.Sprint(sent[k]); got != "[Amount Ext_Id__c NextStep]" {
			t.Errorf("the change of %s sent %s, want only Amount and NextStep beside its external ID", k, got)
		}
	}
	for k := range nulled {
		if got := fmt.Sprint(sent[k]); got != "[Ext_Id__c NextStep Seats__c]" {
			t.Errorf("the change of %s sent %s, want NextStep and Seats__c cleared", k, got)
		}
	}
	var wantDeleted []string
	for k := range deleted {
		wantDeleted = append(wantDeleted, idsBefore[k])
	}
	slices.Sort(wantDeleted)
	if got := srv.Deleted("Opportunity"); !slices.Equal(got, wantDeleted) {
		t.Errorf("deleted %d records, want the %d removed ones by their IDs", len(got), len(wantDeleted))
	}
	if n := srv.Stats().ByEndpoint["query"]; n != 0 {
		t.Errorf("%d ID lookups: the IDs were in state", n)
	}
	if st := srv.Stats(); st.Jobs != 2 || st.CollectionRecords != 0 {
		t.Errorf("edits: %d jobs, %d records through collections; want one upsert job (800 rows) and one delete job (600), both past bulk_threshold 500: %v", st.Jobs, st.CollectionRecords, st.ByEndpoint)
	}

	rep = e.run("rerun", src)
	if rep.Delivered != 0 || rep.Changed != 0 || rep.Removed != 0 || rep.Rejected != 10 {
		t.Errorf("rerun: %d delivered, ~%d -%d, %d rejected; want only the 10 bad rows tried again", rep.Delivered, rep.Changed, rep.Removed, rep.Rejected)
	}
	checkExact(t, "rerun", srv, src, bad)
}
