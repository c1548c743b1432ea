package mysqlconn

import (
	"strings"
	"testing"
	"time"
)

func TestDriverConfig(t *testing.T) {
	cfg, err := DriverConfig("mysql://bob:p%40ss%2Fw:rd@db.example:3307/shop?tls=skip-verify&readTimeout=30s&innodb_lock_wait_timeout=5", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.User != "bob" || cfg.Passwd != "p@ss/w:rd" || cfg.Addr != "db.example:3307" || cfg.DBName != "shop" || cfg.Net != "tcp" {
		t.Errorf("user %q passwd %q addr %q db %q net %q", cfg.User, cfg.Passwd, cfg.Addr, cfg.DBName, cfg.Net)
	}
	if !cfg.ParseTime || cfg.Loc != time.UTC || cfg.AllowAllFiles || cfg.Timeout != DialTimeout {
		t.Errorf("parseTime %v loc %v allowAllFiles %v timeout %v", cfg.ParseTime, cfg.Loc, cfg.AllowAllFiles, cfg.Timeout)
	}
	// driver parameters reach the driver; others become session variables
	if cfg.TLSConfig != "skip-verify" || cfg.TLS == nil || cfg.ReadTimeout != 30*time.Second || cfg.Params["innodb_lock_wait_timeout"] != "5" {
		t.Errorf("tls %q %v readTimeout %v params %v", cfg.TLSConfig, cfg.TLS, cfg.ReadTimeout, cfg.Params)
	}

	cfg, err = DriverConfig("mysql://root@127.0.0.1/test", Options{TextTimes: true})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:3306" || cfg.ParseTime || cfg.Passwd != "" {
		t.Errorf("addr %q parseTime %v passwd %q", cfg.Addr, cfg.ParseTime, cfg.Passwd)
	}
	cfg, err = DriverConfig("mysql://u@[::1]:3308/d", Options{})
	if err != nil || cfg.Addr != "[::1]:3308" {
		t.Errorf("ipv6: %v %v", cfg, err)
	}
}

// TestDriverConfigErrors: bad URLs fail, naming the problem, and never
// print the password.
func TestDriverConfigErrors(t *testing.T) {
	cases := []struct{ url, want string }{
		{"mysql://bob:s3cret@db:notaport/x", "invalid url"},
		{"postgres://bob:s3cret@db/x", "scheme must be mysql://"},
		{"mysql://bob:s3cret@/x", "no host"},
		{"mysql://bob:s3cret@db/x/y", "contains a slash"},
		{"mysql://bob:s3cret@db/x?parseTime=false", "parameter parseTime is set by hoist"},
		{"mysql://bob:s3cret@db/x?allowAllFiles=true", "parameter allowAllFiles is set by hoist"},
		{"mysql://bob:s3cret@db/x?strict=true", "parameter strict is set by hoist"},
		{"mysql://bob:s3cret@db/x?time_zone=%27%2B02:00%27", "parameter time_zone is set by hoist"},
		{"mysql://bob:s3cret@db/x?tls=nonesuch", "nonesuch"},
		{"mysql://bob:s3cret@db/x?readTimeout=s3cret", "****"},
	}
	for _, tc := range cases {
		_, err := DriverConfig(tc.url, Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.url, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: error %q shows the password", tc.url, err)
		}
	}
}

func TestRedactAndAddress(t *testing.T) {
	for _, u := range []string{"mysql://bob:s3cret@db:3306/x?tls=true", "mysql://bob:s3cret@db/x", "mysql://bob:s3cret@db:bad/x"} {
		if got := Redact(u); strings.Contains(got, "s3cret") || !strings.Contains(got, "mysql://") {
			t.Errorf("Redact(%q) = %q", u, got)
		}
	}
	if got := Address("mysql://bob:s3cret@Db.Example/shop?tls=true"); got != "Db.Example:3306/shop" {
		t.Errorf("Address = %q", got)
	}
}

func TestIdent(t *testing.T) {
	cases := map[string]string{
		"t":                "`t`",
		"s.t":              "`s`.`t`",
		"`my.table`":       "`my.table`",
		"`s`.`t``x`":       "`s`.`t``x`",
		"s.`t`":            "`s`.`t`",
		"a.b.c":            "`a`.`b.c`",
		"x`; DROP TABLE y": "`x``; DROP TABLE y`",
	}
	for in, want := range cases {
		if got := Ident(in); got != want {
			t.Errorf("Ident(%q) = %s, want %s", in, got, want)
		}
	}
	if db, tab := Table("shop.orders"); db != "shop" || tab != "orders" {
		t.Errorf("Table = %q %q", db, tab)
	}
	if db, tab := Table("orders"); db != "" || tab != "orders" {
		t.Errorf("Table = %q %q", db, tab)
	}
}
