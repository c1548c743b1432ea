package extract

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/extract/snowflaketest"
	"github.com/hoist-dev/hoist/sync/spec"
)

// TestIntegrationSnowflakeLoginFailures: a wrong password fails at open in
// well under 10 s with Snowflake's message and no secret; an address where
// nothing listens fails within login_timeout instead of the driver's 300 s.
func TestIntegrationSnowflakeLoginFailures(t *testing.T) {
	t.Parallel()
	fake := snowflaketest.New(snowflaketest.Options{})
	t.Cleanup(fake.Close)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := l.Addr().String()
	l.Close() // nothing listens here now

	const wrong = "not-the-Pa55word"
	cases := []struct {
		name    string
		conn    *spec.Connection
		within  time.Duration
		wantMsg string
	}{
		{
			name: "wrong password",
			conn: &spec.Connection{
				Name: "wh",
				Type: SnowflakeType,
				Config: &SnowflakeConfig{
					DSN: spec.Secret(fmt.Sprintf("hoist:%s@%s/DB/PUBLIC?account=fake&protocol=http", wrong, fake.HostPort())),
				},
			},
			within:  5 * time.Second,
			wantMsg: "Incorrect username or password was specified",
		},
		{
			name: "unreachable host",
			conn: &spec.Connection{
				Name: "wh",
				Type: SnowflakeType,
				Config: &SnowflakeConfig{
					LoginTimeout: spec.Duration(2 * time.Second),
					DSN:          spec.Secret(fmt.Sprintf("hoist:%s@%s/DB/PUBLIC?account=fake&protocol=http", wrong, deadAddr)),
				},
			},
			within:  6 * time.Second,
			wantMsg: "connection refused",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			src, err := Open(context.Background(), tc.conn, t.TempDir())
			took := time.Since(start)
			if err == nil {
				src.Close()
				t.Fatal("open succeeded")
			}
			msg := err.Error()
			t.Logf("after %v: %s", took.Round(time.Millisecond), msg)
			if took > tc.within {
				t.Errorf("took %v, want under %v", took, tc.within)
			}
			if !strings.Contains(msg, tc.wantMsg) || !strings.Contains(msg, "connect to snowflake") {
				t.Errorf("error %q does not say %q", msg, tc.wantMsg)
			}
			if strings.Contains(msg, wrong) {
				t.Errorf("error leaks the password: %q", msg)
			}
		})
	}
}

// TestIntegrationSnowflakeNetworkHygiene: the driver talks only to the
// fake, with platform detection disabled (no cloud metadata probes) and no
// telemetry, and closes its session on Close.
func TestIntegrationSnowflakeNetworkHygiene(t *testing.T) {
	t.Parallel()
	fake := snowflaketest.New(snowflaketest.Options{ChunkRows: 10, Tables: []*snowflaketest.Table{snowflaketest.Customers(25)}})
	t.Cleanup(fake.Close)
	src, err := Open(context.Background(), sfConn(fake), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	_, recs, err := sfReadAll(t, src, Request{Source: &spec.Source{Config: &connector.SQLSource{Table: "customers"}}})
	sfRelease(recs)
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}

	env, _ := sfLoginBody(t, fake)["CLIENT_ENVIRONMENT"].(map[string]any)
	if fmt.Sprint(env["PLATFORM"]) != "[disabled]" {
		t.Errorf("login PLATFORM = %v, want [disabled] (metadata probes must be off)", env["PLATFORM"])
	}
	params, _ := sfLoginBody(t, fake)["SESSION_PARAMETERS"].(map[string]any)
	if params["TIMEZONE"] != "UTC" {
		t.Errorf("session TIMEZONE = %v, want UTC", params["TIMEZONE"])
	}
	allowed := map[string]bool{"/session/v1/login-request": true, "/queries/v1/query-request": true, "/session": true}
	var closed bool
	for _, r := range fake.Requests() {
		if r.Host != fake.HostPort() {
			t.Errorf("request to host %q, want %q", r.Host, fake.HostPort())
		}
		if !allowed[r.Path] && !strings.HasPrefix(r.Path, "/chunks/") {
			t.Errorf("unexpected request %s %s", r.Method, r.Path)
		}
		closed = closed || (r.Path == "/session" && strings.Contains(r.RawQuery, "delete=true"))
	}
	if !closed {
		t.Error("session was not deleted on Close")
	}
	if os.Getenv("SNOWFLAKE_DISABLE_PLATFORM_DETECTION") != "true" || os.Getenv("SF_DISABLE_MINICORE") != "true" {
		t.Error("start-up switches not set")
	}
}

// TestIntegrationSnowflakeKeyPair logs in with a PKCS #8 key (JWT auth),
// and checks bad key files fail clearly.
func TestIntegrationSnowflakeKeyPair(t *testing.T) {
	t.Parallel()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rsa_key.p8"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "junk.p8"), []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	fake := snowflaketest.New(snowflaketest.Options{PublicKey: &key.PublicKey, Tables: []*snowflaketest.Table{snowflaketest.Customers(3)}})
	t.Cleanup(fake.Close)
	dsn := fmt.Sprintf("hoist@%s/DB/PUBLIC?account=fake&protocol=http", fake.HostPort())

	cases := []struct {
		keyPath string
		wantErr string
	}{
		{keyPath: "rsa_key.p8"}, // relative to the spec's folder
		{keyPath: "junk.p8", wantErr: "no PEM block"},
		{keyPath: "missing.p8", wantErr: "read snowflake private key"},
	}
	for _, tc := range cases {
		t.Run(tc.keyPath, func(t *testing.T) {
			conn := &spec.Connection{Name: "wh", Type: SnowflakeType, Config: &SnowflakeConfig{DSN: spec.Secret(dsn), PrivateKeyPath: tc.keyPath}}
			src, err := Open(context.Background(), conn, dir)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			_, recs, err := sfReadAll(t, src, Request{Source: &spec.Source{Config: &connector.SQLSource{Table: "customers"}}})
			sfRelease(recs)
			if err != nil {
				t.Fatal(err)
			}
		})
	}
	if auth := sfLoginBody(t, fake)["AUTHENTICATOR"]; auth != "SNOWFLAKE_JWT" {
		t.Errorf("authenticator %v, want SNOWFLAKE_JWT", auth)
	}
}

// TestSnowflakeConfig covers defaults and overrides without a server.
func TestSnowflakeConfig(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		conn  spec.Connection
		check func(t *testing.T, got string)
	}{
		{
			name: "keys, default login timeout",
			conn: spec.Connection{Config: &SnowflakeConfig{Account: "acme-xy12345", User: "loader", Password: "pw-123", Database: "ANALYTICS", Schema: "PUBLIC", Warehouse: "WH", Role: "R"}},
			check: func(t *testing.T, got string) {
				want := "acme-xy12345 loader ANALYTICS PUBLIC WH R 10s true UTC"
				if got != want {
					t.Errorf("got %q, want %q", got, want)
				}
			},
		},
		{
			name: "dsn with key overrides and explicit timeout",
			conn: spec.Connection{Config: &SnowflakeConfig{DSN: "u:p-123@acme/DB1/S1?warehouse=W1", Database: "DB2", LoginTimeout: spec.Duration(3 * time.Second)}},
			check: func(t *testing.T, got string) {
				if want := "acme u DB2 S1 W1  3s true UTC"; got != want {
					t.Errorf("got %q, want %q", got, want)
				}
			},
		},
		{
			name: "dsn login timeout kept",
			conn: spec.Connection{Config: &SnowflakeConfig{DSN: "u:p-123@acme/DB1/S1?loginTimeout=7"}},
			check: func(t *testing.T, got string) {
				if !strings.Contains(got, " 7s ") {
					t.Errorf("got %q, want the dsn's 7s", got)
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := driverConfig(tc.conn.Config.(*SnowflakeConfig), "")
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, fmt.Sprintf("%s %s %s %s %s %s %v %v %s", cfg.Account, cfg.User, cfg.Database, cfg.Schema,
				cfg.Warehouse, cfg.Role, cfg.LoginTimeout, cfg.DisableTelemetry, *cfg.Params["timezone"]))
		})
	}
}

func TestSnowflakeIdentAndNames(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"updated_at": `"UPDATED_AT"`, "UPDATED_AT": `"UPDATED_AT"`, "updatedAt": `"updatedAt"`, `we"ird`: `"we""ird"`,
	} {
		if got := snowflakeIdent(in); got != want {
			t.Errorf("snowflakeIdent(%q) = %s, want %s", in, got, want)
		}
	}
	for in, want := range map[string]string{"UPDATED_AT": "updated_at", "updatedAt": "updatedAt", "1": "1", "ÉTÉ": "été"} {
		if got := snowflakeColumnName(in); got != want {
			t.Errorf("snowflakeColumnName(%q) = %s, want %s", in, got, want)
		}
	}
}
