package sync_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/hoist-dev/hoist/internal/salesforcetest"
	"github.com/hoist-dev/hoist/internal/sqlitedb"
)

// opp is one source opportunity; a nil field is NULL.
type opp struct {
	ext, name, stage string
	close            time.Time
	amount, prob     *float64
	private          *bool
	next, account    *string
	activity         *time.Time
	email            *string
	seats            *int64
	region           *string
}

func fp(f float64) *float64 { return &f }

func makeOpp(i int) opp {
	private := i%4 == 0
	seats := int64(i % 300)
	act := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC).Add(time.Duration(i) * 7919 * time.Millisecond)
	return opp{
		ext: fmt.Sprintf("OPP-%06d", i), name: fmt.Sprintf("Deal %d, \"phase\" %d", i, i%7), stage: salesforcetest.Stages[i%len(salesforcetest.Stages)],
		close:  time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i%365),
		amount: fp(float64(i*37%100000) + 0.25), prob: fp(float64(i % 100)), private: &private,
		next: sp(fmt.Sprintf("call back\nline %d", i)), account: sp(fmt.Sprintf("001%012dAAA", i%500)), activity: &act,
		email: sp(fmt.Sprintf("buyer%d@example.com", i)), seats: &seats, region: sp([]string{"EMEA", "AMER;APAC", "APAC"}[i%3]),
	}
}

// fields is what Salesforce must hold for o (a NULL: no field).
func (o opp) fields() map[string]string {
	out := map[string]string{"Ext_Id__c": o.ext, "Name": o.name, "StageName": o.stage, "CloseDate": o.close.Format(time.DateOnly)}
	num := func(k string, v *float64) {
		if v != nil {
			out[k] = strconv.FormatFloat(*v, 'f', -1, 64)
		}
	}
	str := func(k string, v *string) {
		if v != nil && *v != "" {
			out[k] = *v
		}
	}
	num("Amount", o.amount)
	num("Probability", o.prob)
	if o.private != nil {
		out["IsPrivate"] = strconv.FormatBool(*o.private)
	}
	str("NextStep", o.next)
	str("AccountId", o.account)
	if o.activity != nil {
		out["Last_Activity__c"] = o.activity.UTC().Format("2006-01-02T15:04:05.000Z")
	}
	str("Contact_Email__c", o.email)
	if o.seats != nil {
		out["Seats__c"] = strconv.FormatInt(*o.seats, 10)
	}
	str("Region__c", o.region)
	return out
}

// writeOpps replaces the SQLite source table with os.
func writeOpps(t testing.TB, path string, os map[string]opp) {
	t.Helper()
	db, err := sqlitedb.OpenWrite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"DROP TABLE IF EXISTS opps", `CREATE TABLE opps (Ext_Id__c TEXT PRIMARY KEY, Name TEXT, StageName TEXT,
		CloseDate DATE, Amount REAL, Probability REAL, IsPrivate BOOLEAN, NextStep TEXT, AccountId TEXT, Last_Activity__c DATETIME,
		Contact_Email__c TEXT, Seats__c INTEGER, Region__c TEXT)`} {
		if _, err := tx.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	st, err := tx.Prepare("INSERT INTO opps VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range os {
		var amount, prob, private, next, account, act, email, seats, region any
		if o.amount != nil {
			amount = *o.amount
		}
		if o.prob != nil {
			prob = *o.prob
		}
		if o.private != nil {
			private = *o.private
		}
		if o.next != nil {
			next = *o.next
		}
		if o.account != nil {
			account = *o.account
		}
		if o.activity != nil {
			act = sqlitedb.FormatTimestamp(*o.activity)
		}
		if o.email != nil {
			email = *o.email
		}
		if o.seats != nil {
			seats = *o.seats
		}
		if o.region != nil {
			region = *o.region
		}
		if _, err := st.Exec(o.ext, o.name, o.stage, o.close.Format(time.DateOnly), amount, prob, private, next, account, act, email, seats, region); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// sfByExt indexes the fake's opportunities by external ID.
func sfByExt(srv *salesforcetest.Server) (map[string]map[string]string, map[string]string) {
	recs, ids := map[string]map[string]string{}, map[string]string{}
	for id, r := range srv.Records("Opportunity") {
		recs[r["Ext_Id__c"]] = r
		ids[r["Ext_Id__c"]] = id
	}
	return recs, ids
}

// newSalesforce starts a fake org whose connected app holds a fresh key;
// it returns the PEM private key too.
func newSalesforce(t testing.TB, cfg salesforcetest.Config) (*salesforcetest.Server, string) {
	t.Helper()
	key, pub, err := salesforcetest.Key()
	if err != nil {
		t.Fatal(err)
	}
	cfg.ClientID, cfg.Username, cfg.PublicKey = "3MVG9hoistTestConsumerKey", "integration@acme.example", pub
	if cfg.Objects == nil {
		cfg.Objects = []salesforcetest.Object{salesforcetest.Opportunity(0)}
	}
	srv := salesforcetest.New(cfg)
	t.Cleanup(srv.Close)
	return srv, key
}

// sfSpec is a spec syncing the opps table into the fake's Opportunity.
func sfSpec(url, mode, extra string) string {
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
  - name: opps
    source: {connection: wh, table: opps}
    destination:
      connection: sf
      object: Opportunity
      mode: %s
      primary_key: [Ext_Id__c]
%s    on_reject: {file: rejected.jsonl}
`, url, mode, extra)
}
