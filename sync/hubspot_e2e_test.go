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
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hoist-dev/hoist/internal/hubspottest"
	"github.com/hoist-dev/hoist/internal/sqlitedb"
	hsync "github.com/hoist-dev/hoist/sync"
	"github.com/hoist-dev/hoist/sync/state"
)

const hubspotToken = "pat-na1-0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"

// contactProps are the 20 mapped properties: HubSpot's own and custom ones
// of every type the destination formats.
var contactProps = []hubspottest.Property{
	hubspottest.StringProperty("city"), hubspottest.StringProperty("country"), hubspottest.StringProperty("jobtitle"),
	hubspottest.EnumProperty("plan", false, "free", "pro", "team"),
	hubspottest.NumberProperty("score"), hubspottest.NumberProperty("employees"), hubspottest.NumberProperty("revenue"),
	hubspottest.DateProperty("signup_date"), hubspottest.DateTimeProperty("last_seen"), hubspottest.BoolProperty("active"),
	hubspottest.EnumProperty("tags", true, "a", "b", "c", "d"),
	hubspottest.StringProperty("notes"), hubspottest.StringProperty("external_ref"),
}

// contact is one source row; a nil field is NULL.
type contact struct {
	email                                                    string
	firstname, lastname, phone, company, website, lifecycle  *string
	city, country, jobtitle, plan, notes, ref, tags, revenue *string
	score                                                    *float64
	employees                                                *int64
	signup                                                   *time.Time // a day
	lastSeen                                                 *time.Time
	active                                                   *bool
}

func sp(s string) *string { return &s }

func makeContact(i int) contact {
	day := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i%1500)
	seen := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC).Add(time.Duration(i) * 1237 * time.Millisecond)
	score := float64(i%1000) / 8
	emp := int64(i % 5000)
	active := i%3 == 0
	return contact{
		email: fmt.Sprintf("person%05d@example.com", i), firstname: sp(fmt.Sprintf("First%d", i)), lastname: sp(fmt.Sprintf("Last%d", i)),
		phone: sp(fmt.Sprintf("+1-555-%07d", i)), company: sp(fmt.Sprintf("Company %d", i%97)), website: sp(fmt.Sprintf("https://c%d.example.com", i%97)),
		lifecycle: sp([]string{"lead", "customer", "opportunity"}[i%3]),
		city:      sp(fmt.Sprintf("City %d", i%211)), country: sp([]string{"DE", "US", "FR", "JP"}[i%4]), jobtitle: sp("Engineer"),
		plan: sp([]string{"free", "pro", "team"}[i%3]), notes: sp(fmt.Sprintf("note <%d> & \"quoted\"", i)), ref: sp(fmt.Sprintf("ext-%d", i)),
		tags: sp([]string{"a", "a;b", "b;c;d", "d"}[i%4]), revenue: sp(fmt.Sprintf("%d.%02d", i*13, i%100)),
		score: &score, employees: &emp, signup: &day, lastSeen: &seen, active: &active,
	}
}

// props is what HubSpot must hold for c: every property as the string the
// destination writes, a NULL as no property at all.
func (c contact) props() map[string]string {
	out := map[string]string{"email": c.email}
	str := func(k string, v *string) {
		if v != nil && *v != "" {
			out[k] = *v
		}
	}
	str("firstname", c.firstname)
	str("lastname", c.lastname)
	str("phone", c.phone)
	str("company", c.company)
	str("website", c.website)
	str("lifecyclestage", c.lifecycle)
	str("city", c.city)
	str("country", c.country)
	str("jobtitle", c.jobtitle)
	str("plan", c.plan)
	str("notes", c.notes)
	str("external_ref", c.ref)
	str("tags", c.tags)
	str("revenue", c.revenue)
	if c.score != nil {
		out["score"] = strconv.FormatFloat(*c.score, 'f', -1, 64)
	}
	if c.employees != nil {
		out["employees"] = strconv.FormatInt(*c.employees, 10)
	}
	if c.signup != nil {
		out["signup_date"] = strconv.FormatInt(c.signup.UnixMilli(), 10) // midnight UTC
	}
	if c.lastSeen != nil {
		out["last_seen"] = c.lastSeen.UTC().Format("2006-01-02T15:04:05.000Z")
	}
	if c.active != nil {
		out["active"] = strconv.FormatBool(*c.active)
	}
	return out
}

// writeContacts replaces the SQLite source table with cs.
func writeContacts(t *testing.T, path string, cs map[string]contact) {
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
	for _, q := range []string{"DROP TABLE IF EXISTS contacts", `CREATE TABLE contacts (email TEXT PRIMARY KEY, firstname TEXT, lastname TEXT,
		phone TEXT, company TEXT, website TEXT, lifecyclestage TEXT, city TEXT, country TEXT, jobtitle TEXT, plan TEXT, notes TEXT,
		external_ref TEXT, tags TEXT, revenue TEXT, score REAL, employees INTEGER, signup_date DATE, last_seen DATETIME, active BOOLEAN)`} {
		if _, err := tx.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	st, err := tx.Prepare("INSERT INTO contacts VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
	if err != nil {
		t.Fatal(err)
	}
	s := func(v *string) any {
		if v == nil {
			return nil
		}
		return *v
	}
	for _, c := range cs {
		var score, emp, signup, seen, active any
		if c.score != nil {
			score = *c.score
		}
		if c.employees != nil {
			emp = *c.employees
		}
		if c.signup != nil {
			signup = c.signup.Format(time.DateOnly)
		}
		if c.lastSeen != nil {
			seen = sqlitedb.FormatTimestamp(*c.lastSeen)
		}
		if c.active != nil {
			active = *c.active
		}
		if _, err := st.Exec(c.email, s(c.firstname), s(c.lastname), s(c.phone), s(c.company), s(c.website), s(c.lifecycle), s(c.city),
			s(c.country), s(c.jobtitle), s(c.plan), s(c.notes), s(c.ref), s(c.tags), s(c.revenue), score, emp, signup, seen, active); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// hubspotByEmail indexes the fake's live contacts by email, without the
// properties HubSpot sets itself.
func hubspotByEmail(srv *hubspottest.Server) (map[string]map[string]string, map[string]string) {
	props, ids := map[string]map[string]string{}, map[string]string{}
	for id, r := range srv.Records("contacts") {
		p := r.Properties
		delete(p, "hs_object_id")
		delete(p, "createdate")
		delete(p, "hs_lastmodifieddate")
		props[p["email"]] = p
		ids[p["email"]] = id
	}
	return props, ids
}

// TestHubSpotMirror is issue 13's scenario: a mirror of 10,000 contacts
// with 20 properties into the fake HubSpot, then edits — 2 fields changed in
// 500 rows, 200 deletes, 300 adds (10 of them with an email HubSpot
// refuses), 100 rows with NULLs. The fake ends holding exactly the source
// less the 10; the change requests carry only the changed properties
// (NULLs as ""); the archives name the record IDs the upserts answered; the
// 207 rejects exactly the 10 bad records; no request is ever invalid for
// HubSpot's documented request schemas; the token appears nowhere.
func TestHubSpotMirror(t *testing.T) {
	srv := hubspottest.New(hubspottest.Config{Token: hubspotToken, KeepLog: true,
		Properties: map[string][]hubspottest.Property{"contacts": contactProps}})
	defer srv.Close()
	dir := t.TempDir()
	t.Setenv("HUBSPOT_TOKEN", hubspotToken)
	f := loadSpec(t, dir, fmt.Sprintf(`version: 1
connections:
  wh: {type: sqlite, path: source.db}
  hs:
    type: hubspot
    token: ${HUBSPOT_TOKEN}
    base_url: %s
    tier: professional
syncs:
  - name: contacts
    source: {connection: wh, table: contacts}
    destination:
      connection: hs
      object: contacts
      mode: mirror
      primary_key: [email]
    on_reject: {file: rejected.jsonl}
`, srv.URL))
	store, err := state.Open(context.Background(), "file://"+filepath.Join(dir, ".hoist"), "")
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	src := map[string]contact{}
	for i := range 10_000 {
		c := makeContact(i)
		src[c.email] = c
	}
	run := func(step string) *hsync.Report {
		t.Helper()
		writeContacts(t, filepath.Join(dir, "source.db"), src)
		rep := (&hsync.Runner{File: f, Store: store, Opt: hsync.Options{TempDir: dir}}).Run(context.Background(), f.Syncs[0])
		if rep.Status == hsync.StatusFailed {
			t.Fatalf("%s: %s", step, rep.Error)
		}
		return rep
	}
	bad := map[string]bool{}
	check := func(step string) {
		t.Helper()
		got, _ := hubspotByEmail(srv)
		n := 0
		for email, c := range src {
			if bad[email] {
				if _, ok := got[email]; ok {
					t.Errorf("%s: the invalid contact %s is in HubSpot", step, email)
				}
				continue
			}
			n++
			want := c.props()
			if g := got[email]; fmt.Sprint(g) != fmt.Sprint(want) {
				t.Errorf("%s: contact %s\n got %v\nwant %v", step, email, g, want)
				if n > 5 {
					t.FailNow()
				}
			}
		}
		if len(got) != n {
			t.Errorf("%s: HubSpot holds %d contacts, want %d", step, len(got), n)
		}
		if st := srv.Stats(); st.Invalid != 0 {
			t.Fatalf("%s: %d requests were invalid for HubSpot's schemas: %v", step, st.Invalid, st.InvalidReasons)
		}
	}
	rep := run("first load")
	if rep.Status != hsync.StatusOK || rep.Delivered != 10_000 {
		t.Fatalf("first load: %s, %d delivered", rep.Status, rep.Delivered)
	}
	check("first load")
	if upserts := srv.Stats().ByEndpoint["batch/upsert"]; upserts != 100 {
		t.Errorf("first load: %d batch/upsert requests, want 100 (10,000 rows, 100 a request)", upserts)
	}
	_, idsBefore := hubspotByEmail(srv)
	srv.ResetLog()

	emails := make([]string, 0, len(src))
	for e := range src {
		emails = append(emails, e)
	}
	sort.Strings(emails)
	changed, nulled, deleted := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, e := range emails[:500] { // 2 fields of 500 rows
		c := src[e]
		c.firstname = sp(*c.firstname + " II")
		s := *c.score + 1000
		c.score = &s
		src[e] = c
		changed[e] = true
	}
	for _, e := range emails[500:600] { // NULLs in 100 rows
		c := src[e]
		c.city, c.phone = nil, nil
		src[e] = c
		nulled[e] = true
	}
	for _, e := range emails[600:800] { // 200 deletes
		delete(src, e)
		deleted[e] = true
	}
	for i := range 300 { // 300 adds, 10 of them refused by HubSpot
		c := makeContact(20_000 + i)
		if i%30 == 7 {
			c.email = fmt.Sprintf("bad-address-%d@nowhere", i)
			bad[c.email] = true
		}
		src[c.email] = c
	}
	before := srv.Stats()
	rep = run("edits")
	if rep.Added != 300 || rep.Changed != 600 || rep.Removed != 200 {
		t.Errorf("edits: +%d ~%d -%d, want +300 ~600 -200", rep.Added, rep.Changed, rep.Removed)
	}
	if rep.Status != hsync.StatusPartial || rep.Rejected != 10 || rep.Delivered != 1090 {
		t.Errorf("edits: %s, %d delivered, %d rejected; want partial, 1090, 10", rep.Status, rep.Delivered, rep.Rejected)
	}
	check("edits")
	// the 10 bad emails sort together: one 207 names exactly them, and
	// nothing else was refused
	after := srv.Stats()
	if n := after.ByStatus[207] - before.ByStatus[207]; n != 1 {
		t.Errorf("edits: %d answers 207, want the one naming the 10 bad records", n)
	}
	if n := after.RejectedRecords - before.RejectedRecords; n != 10 {
		t.Errorf("edits: HubSpot refused %d records, want 10", n)
	}

	// the rejected rows file holds exactly the 10
	rejected := map[string]bool{}
	fh, err := os.Open(filepath.Join(dir, "rejected.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		var line struct {
			Key   map[string]any `json:"key"`
			Error string         `json:"error"`
		}
		json.Unmarshal(sc.Bytes(), &line)
		rejected[fmt.Sprint(line.Key["email"])] = true
		if !strings.Contains(line.Error, "invalid") {
			t.Errorf("rejected %v: error %q does not say why", line.Key, line.Error)
		}
	}
	fh.Close()
	if fmt.Sprint(rejected) != fmt.Sprint(bad) {
		t.Errorf("rejected rows %v, want exactly %v", rejected, bad)
	}

	// what the edits sent
	var archived []string
	for _, e := range srv.Log() {
		for _, in := range e.Inputs {
			switch e.Endpoint {
			case "batch/archive":
				archived = append(archived, in.ID)
			case "batch/upsert":
				keys := slices.Sorted(mapKeys(in.Properties))
				switch {
				case changed[in.ID] && fmt.Sprint(keys) != "[firstname score]":
					t.Errorf("the change of %s sent %v, want only [firstname score]", in.ID, keys)
				case nulled[in.ID] && fmt.Sprint(in.Properties) != "map[city: phone:]":
					t.Errorf("the change of %s sent %v, want city and phone emptied", in.ID, in.Properties)
				case !changed[in.ID] && !nulled[in.ID] && len(keys) != 19:
					t.Errorf("the add of %s sent %d properties, want 19 besides its email", in.ID, len(keys))
				}
			default:
				t.Errorf("the edits sent %s", e.Endpoint)
			}
		}
	}
	var want []string
	for e := range deleted {
		want = append(want, idsBefore[e])
	}
	slices.Sort(archived)
	slices.Sort(want)
	if !slices.Equal(archived, want) {
		t.Errorf("archived %d records, want the 200 deleted ones by their IDs", len(archived))
	}
	if n := srv.Stats().ByEndpoint["batch/read"]; n != 0 {
		t.Errorf("%d batch/read lookups: the IDs were in state", n)
	}

	rep = run("rerun")
	if rep.Delivered != 0 || rep.Changed != 0 || rep.Removed != 0 || rep.Rejected != 10 {
		t.Errorf("rerun: %d delivered, ~%d -%d, %d rejected; want only the 10 bad rows tried again", rep.Delivered, rep.Changed, rep.Removed, rep.Rejected)
	}
	out, _ := json.Marshal(rep)
	if strings.Contains(string(out), hubspotToken) {
		t.Error("the token is in the report")
	}
}

func mapKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestHubSpotPicklistValues: values that are none of a property's options
// are found by plan, from the properties API, before anything is sent (the
// count, the sync, the field, the first values and their keys), and run
// rejects exactly those rows, unsent, saying why: HubSpot sees no request
// holding them.
func TestHubSpotPicklistValues(t *testing.T) {
	srv := hubspottest.New(hubspottest.Config{Token: hubspotToken,
		Properties: map[string][]hubspottest.Property{"contacts": contactProps}})
	defer srv.Close()
	dir := t.TempDir()
	t.Setenv("HUBSPOT_TOKEN", hubspotToken)
	f := loadSpec(t, dir, fmt.Sprintf(`version: 1
connections:
  wh: {type: sqlite, path: source.db}
  hs: {type: hubspot, token: "${HUBSPOT_TOKEN}", base_url: %s}
syncs:
  - name: contacts
    source: {connection: wh, table: contacts}
    destination: {connection: hs, object: contacts, mode: upsert, primary_key: [email]}
    on_reject: {file: rejected.jsonl}
`, srv.URL))
	src := map[string]contact{}
	for i := range 50 {
		c := makeContact(i)
		switch i {
		case 3:
			c.plan = sp("gold")
		case 4:
			c.plan = sp("platinum")
		case 5:
			c.plan = sp("gold")
		case 6:
			c.tags = sp("a;zz")
		}
		src[c.email] = c
	}
	writeContacts(t, filepath.Join(dir, "source.db"), src)
	store, err := state.Open(context.Background(), "file://"+filepath.Join(dir, ".hoist"), "")
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	r := &hsync.Runner{File: f, Store: store, Opt: hsync.Options{TempDir: dir}}
	pr, err := r.Plan(context.Background(), f.Syncs[0])
	if err != nil {
		t.Fatal(err)
	}
	warnings := strings.Join(pr.Warnings, "\n")
	for _, want := range []string{
		"sync contacts: run would reject 4 rows, unsent",
		// the source is read in no set order: the examples in any
		"sync contacts, field plan: 3 rows, e.g. ",
		`"gold" (key {email: "person00003@example.com"}): property plan has no option "gold" (options: free, pro, team)`,
		`"gold" (key {email: "person00005@example.com"})`,
		`"platinum" (key {email: "person00004@example.com"})`,
		`sync contacts, field tags: 1 rows, e.g. "a;zz" (key {email: "person00006@example.com"}): property tags has no option "zz"`,
	} {
		if !strings.Contains(warnings, want) {
			t.Errorf("plan warnings lack %q:\n%s", want, warnings)
		}
	}
	if st := srv.Stats(); st.ByEndpoint["batch/upsert"] != 0 {
		t.Fatalf("plan sent %d upserts", st.ByEndpoint["batch/upsert"])
	}
	rep := r.Run(context.Background(), f.Syncs[0])
	if rep.Status != hsync.StatusPartial || rep.Rejected != 4 || rep.Delivered != 46 {
		t.Fatalf("run: %s, %d delivered, %d rejected (%s); want partial, 46, 4", rep.Status, rep.Delivered, rep.Rejected, rep.Error)
	}
	st := srv.Stats()
	if st.LiveRecords != 46 || st.RejectedRecords != 0 || st.Invalid != 0 || st.ByStatus[400] != 0 {
		t.Errorf("the fake: %d contacts, %d records refused, %d invalid requests, %d 400s; want 46, 0, 0, 0", st.LiveRecords, st.RejectedRecords, st.Invalid, st.ByStatus[400])
	}
	data, err := os.ReadFile(filepath.Join(dir, "rejected.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`field plan: property plan has no option \"gold\"`, `field plan: property plan has no option \"platinum\"`, `field tags: property tags has no option \"zz\"`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("the rejected rows lack %q:\n%s", want, data)
		}
	}
}
