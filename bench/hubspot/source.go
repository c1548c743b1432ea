package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/hoist-dev/hoist/internal/hubspottest"
	"github.com/hoist-dev/hoist/internal/sqlitedb"
)

// contactProps are the custom contact properties the source maps to,
// beside HubSpot's own email, firstname, lastname, phone, company, website
// and lifecyclestage: every type the destination formats.
var contactProps = []hubspottest.Property{
	hubspottest.StringProperty("city"), hubspottest.StringProperty("country"), hubspottest.StringProperty("jobtitle"),
	hubspottest.EnumProperty("plan", false, "free", "pro", "team"),
	hubspottest.NumberProperty("score"), hubspottest.NumberProperty("employees"), hubspottest.NumberProperty("revenue"),
	hubspottest.DateProperty("signup_date"), hubspottest.DateTimeProperty("last_seen"), hubspottest.BoolProperty("active"),
	hubspottest.EnumProperty("tags", true, "a", "b", "c", "d"),
	hubspottest.StringProperty("notes"), hubspottest.StringProperty("external_ref"),
}

var (
	day0  = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	seen0 = time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
)

// row is contact i's 20 source values, in column order.
func row(i int) []any {
	return []any{
		fmt.Sprintf("person%06d@example.com", i), fmt.Sprintf("First%d", i), fmt.Sprintf("Last%d", i),
		fmt.Sprintf("+1-555-%07d", i), fmt.Sprintf("Company %d", i%97), fmt.Sprintf("https://c%d.example.com", i%97),
		[]string{"lead", "customer", "opportunity"}[i%3], fmt.Sprintf("City %d", i%211), []string{"DE", "US", "FR", "JP"}[i%4],
		"Engineer", []string{"free", "pro", "team"}[i%3], fmt.Sprintf("note <%d> & \"quoted\"", i), fmt.Sprintf("ext-%d", i),
		[]string{"a", "a;b", "b;c;d", "d"}[i%4], fmt.Sprintf("%d.%02d", i*13, i%100),
		float64(i%1000) / 8, int64(i % 5000), day0.AddDate(0, 0, i%1500).Format(time.DateOnly),
		sqlitedb.FormatTimestamp(seen0.Add(time.Duration(i) * 1237 * time.Millisecond)), i%3 == 0,
	}
}

var columns = []string{"email", "firstname", "lastname", "phone", "company", "website", "lifecyclestage", "city", "country",
	"jobtitle", "plan", "notes", "external_ref", "tags", "revenue", "score", "employees", "signup_date", "last_seen", "active"}

// props is what HubSpot holds for contact i: each value as the string the
// destination writes it.
func props(i int) map[string]string {
	r := row(i)
	out := make(map[string]string, len(r))
	for c, v := range r[:15] {
		out[columns[c]] = v.(string)
	}
	out["score"] = strconv.FormatFloat(r[15].(float64), 'f', -1, 64)
	out["employees"] = strconv.FormatInt(r[16].(int64), 10)
	out["signup_date"] = strconv.FormatInt(day0.AddDate(0, 0, i%1500).UnixMilli(), 10) // midnight UTC
	out["last_seen"] = seen0.Add(time.Duration(i) * 1237 * time.Millisecond).Format("2006-01-02T15:04:05.000Z")
	out["active"] = strconv.FormatBool(r[19].(bool))
	return out
}

// writeSource writes n contacts into a new SQLite table.
func writeSource(path string, n int) error {
	db, err := sqlitedb.OpenWrite(context.Background(), path)
	if err != nil {
		return err
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, q := range []string{"DROP TABLE IF EXISTS contacts", `CREATE TABLE contacts (email TEXT PRIMARY KEY, firstname TEXT,
		lastname TEXT, phone TEXT, company TEXT, website TEXT, lifecyclestage TEXT, city TEXT, country TEXT, jobtitle TEXT, plan TEXT,
		notes TEXT, external_ref TEXT, tags TEXT, revenue TEXT, score REAL, employees INTEGER, signup_date DATE, last_seen DATETIME,
		active BOOLEAN)`} {
		if _, err := tx.Exec(q); err != nil {
			return err
		}
	}
	st, err := tx.Prepare("INSERT INTO contacts VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
	if err != nil {
		return err
	}
	defer st.Close()
	for i := range n {
		if _, err := st.Exec(row(i)...); err != nil {
			return err
		}
	}
	return tx.Commit()
}
