package mysqlconn_test

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hoist-dev/hoist/internal/mysqlconn"
	"github.com/hoist-dev/hoist/internal/mysqltest"
)

// TestIntegrationConnectSession: every connection of a pool gets the
// session hoist relies on, and a refused login does not print the password.
func TestIntegrationConnectSession(t *testing.T) {
	db := mysqltest.New(t)
	ctx := context.Background()
	pool, err := mysqlconn.Connect(ctx, db.URL, mysqlconn.Options{Strict: true, Stream: true, StatementTimeout: 1500 * time.Millisecond, MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var tz, mode, wt, mst string
	if err := pool.QueryRowContext(ctx, "SELECT @@session.time_zone, @@session.sql_mode, @@session.net_write_timeout, @@session.max_statement_time").Scan(&tz, &mode, &wt, &mst); err != nil {
		t.Fatal(err)
	}
	got, want := strings.Split(mode, ","), strings.Split(mysqlconn.StrictMode, ",")
	slices.Sort(got)
	slices.Sort(want)
	if tz != "+00:00" || !slices.Equal(got, want) || wt != "86400" || !strings.HasPrefix(mst, "1.5") {
		t.Errorf("session: time_zone %s, sql_mode %s, net_write_timeout %s, max_statement_time %s", tz, mode, wt, mst)
	}
	// the statement timeout stops a long statement
	start := time.Now()
	var slept int
	_ = pool.QueryRowContext(ctx, "SELECT SLEEP(5)").Scan(&slept)
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("SLEEP(5) ran %s under a 1.5s statement timeout", d)
	}

	u, _ := url.Parse(db.URL)
	u.User = url.UserPassword("hoist_nobody", "s3cret-pw")
	_, err = mysqlconn.Connect(ctx, u.String(), mysqlconn.Options{})
	if err == nil {
		t.Fatal("login with a wrong password succeeded")
	}
	if strings.Contains(err.Error(), "s3cret-pw") || !strings.Contains(err.Error(), "Access denied") {
		t.Errorf("error %q shows the password or hides the cause", err)
	}
}
