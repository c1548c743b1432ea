package pgconn

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	jpg "github.com/jackc/pgx/v5/pgconn"
)

func TestRedact(t *testing.T) {
	for _, u := range []string{
		"postgres://bob:s3cret@db:5432/x?sslmode=require",
		"postgres://bob:s3cret@db/x?password=s3cret",
		"postgres://bob@db/x?sslpassword=s3cret",
	} {
		if got := Redact(u); strings.Contains(got, "s3cret") || !strings.Contains(got, "bob") {
			t.Errorf("Redact(%q) = %q", u, got)
		}
	}
	_, err := PoolConfig("postgres://bob:s3cret@db:notaport/x", Options{})
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("parse error %v leaks or is missing", err)
	}
}

func TestPoolConfig(t *testing.T) {
	cfg, err := PoolConfig("postgres://u@h/d", Options{StatementTimeout: 90 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	rp := cfg.ConnConfig.RuntimeParams
	if rp["statement_timeout"] != "90000" || rp["application_name"] != "hoist" {
		t.Errorf("runtime params %v", rp)
	}
	// sslmode defaults to prefer: a TLS attempt with a plain fallback.
	if cfg.ConnConfig.TLSConfig == nil || len(cfg.ConnConfig.Fallbacks) == 0 {
		t.Error("default sslmode is not prefer")
	}
	cfg, _ = PoolConfig("postgres://u@h/d?sslmode=disable", Options{})
	if cfg.ConnConfig.TLSConfig != nil {
		t.Error("sslmode=disable ignored")
	}
}

func TestStripParam(t *testing.T) {
	u, v, err := StripParam("postgres://u@h/d?hoist_schema=st&sslmode=disable", "hoist_schema")
	if err != nil || v != "st" || strings.Contains(u, "hoist_schema") || !strings.Contains(u, "sslmode=disable") {
		t.Errorf("got %q %q %v", u, v, err)
	}
}

func TestIdent(t *testing.T) {
	cases := map[string]string{
		"t":                `"t"`,
		"s.t":              `"s"."t"`,
		`"my.table"`:       `"my.table"`,
		`"s"."t""x"`:       `"s"."t""x"`,
		"a.b.c":            `"a"."b.c"`,
		`x"; DROP TABLE y`: `"x""; DROP TABLE y"`,
	}
	for in, want := range cases {
		if got := Ident(in); got != want {
			t.Errorf("Ident(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		err                 error
		transient, rowLevel bool
	}{
		{&jpg.PgError{Code: "08006"}, true, false},
		{&jpg.PgError{Code: "57P01"}, true, false},
		{&jpg.PgError{Code: "23514"}, false, true},
		{&jpg.PgError{Code: "22003"}, false, true},
		{&jpg.PgError{Code: "42P01"}, false, false},
		{io.ErrUnexpectedEOF, true, false},
		{errors.Join(errors.New("x"), io.EOF), true, false},
	}
	for _, tc := range cases {
		if Transient(tc.err) != tc.transient || RowLevel(tc.err) != tc.rowLevel {
			t.Errorf("%v: transient %v rowLevel %v", tc.err, Transient(tc.err), RowLevel(tc.err))
		}
	}
}
