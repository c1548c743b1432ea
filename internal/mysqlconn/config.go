// Package mysqlconn holds what hoist's MySQL/MariaDB source and destination
// share: connection config from a mysql:// URL, session settings, retry on
// connection loss, error classes and identifier quoting.
//
// It wraps github.com/go-sql-driver/mysql; passwords never leave it in an
// error.
package mysqlconn

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/hoist-dev/hoist/sync/spec"
)

// Config is a mysql connection's keys.
type Config struct {
	// URL is mysql://USER:PASSWORD@HOST:PORT/DATABASE?params.
	URL spec.Secret `yaml:"url" doc:"mysql://USER:PASSWORD@HOST:PORT/DATABASE?params (a secret: never printed); params pass to go-sql-driver (tls, charset, timeouts) or set session variables"`
	// StatementTimeout caps each statement (MariaDB max_statement_time,
	// MySQL max_execution_time); 0 keeps the server's.
	StatementTimeout spec.Duration `yaml:"statement_timeout" doc:"per statement: MariaDB max_statement_time, MySQL max_execution_time (SELECT only)"`
}

// Connect opens a pool for the connection with o, its StatementTimeout
// taken from c.
func (c Config) Connect(ctx context.Context, o Options) (*sql.DB, error) {
	o.StatementTimeout = c.StatementTimeout.D()
	return Connect(ctx, c.URL.Reveal(), o)
}

// DefaultMaxConns caps a pool: a sync's loaders and one streaming read.
const DefaultMaxConns = 8

// DialTimeout bounds connecting; a server that accepts TCP but never
// answers the handshake fails instead of hanging the run.
const DialTimeout = 10 * time.Second

// Options are the connection settings besides the URL.
type Options struct {
	// StatementTimeout caps each statement (0: the server's setting).
	StatementTimeout time.Duration
	// TextTimes leaves DATE, DATETIME and TIMESTAMP values as the server's
	// text (the driver's parseTime off): a reader then tells a zero date
	// from 0001-01-01, which time.Time cannot.
	TextTimes bool
	// Strict sets a strict sql_mode for the session, so that a value out of
	// range, too long or NULL for a NOT NULL column fails its statement
	// instead of being clipped with a warning (writers).
	Strict bool
	// Stream lifts the session's net_write_timeout: a reader that streams
	// a result slower than the server sends it (a slow destination holds
	// the pipeline) must not be cut off after the default 60 seconds.
	Stream bool
	// MaxConns caps the pool (DefaultMaxConns if 0).
	MaxConns int
}

// managed are URL parameters hoist sets itself: a user's value would break
// what the source and destination rely on (UTC times, exact dates, no
// client file reads), or, for strict, make the driver panic.
var managed = []string{"parseTime", "loc", "time_zone", "allowAllFiles", "strict"}

// DriverConfig parses a mysql:// URL into a go-sql-driver config. The
// URL's query parameters pass through to the driver (tls, charset,
// collation, timeouts, compress, …; any other name is set as a session
// variable on connect), except the ones hoist manages. Errors never carry
// the password.
func DriverConfig(rawURL string, o Options) (*mysql.Config, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("parse mysql url %s: invalid url", Redact(rawURL))
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("parse mysql url %s: %s", Redact(rawURL), fmt.Sprintf(format, args...))
	}
	if u.Scheme != "mysql" {
		return nil, bad("scheme must be mysql://")
	}
	if u.Hostname() == "" {
		return nil, bad("no host")
	}
	if u.Opaque != "" || u.Fragment != "" {
		return nil, bad("expected mysql://USER:PASSWORD@HOST:PORT/DATABASE")
	}
	db := strings.TrimPrefix(u.Path, "/")
	if strings.Contains(db, "/") {
		return nil, bad("database name %q contains a slash", db)
	}
	port := u.Port()
	if port == "" {
		port = "3306"
	}
	q := u.Query()
	keys := make([]string, 0, len(q))
	for k := range q {
		if slices.Contains(managed, k) {
			return nil, bad("parameter %s is set by hoist", k)
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	// Rebuild a driver DSN so the driver itself parses and checks each
	// parameter (and derives the TLS server name from the address).
	var dsn strings.Builder
	if u.User != nil {
		dsn.WriteString(u.User.Username())
		if pw, ok := u.User.Password(); ok {
			dsn.WriteString(":" + pw)
		}
		dsn.WriteString("@")
	}
	dsn.WriteString("tcp(" + net.JoinHostPort(u.Hostname(), port) + ")/" + url.PathEscape(db))
	for i, k := range keys {
		sep := "&"
		if i == 0 {
			sep = "?"
		}
		dsn.WriteString(sep + k + "=" + url.QueryEscape(q.Get(k)))
	}
	cfg, err := mysql.ParseDSN(dsn.String())
	if err != nil {
		return nil, bad("%s", scrub(err.Error(), rawURL))
	}
	cfg.ParseTime = !o.TextTimes
	cfg.Loc = time.UTC
	cfg.AllowAllFiles = false // LOAD DATA LOCAL reads only registered readers
	if cfg.Timeout == 0 {
		cfg.Timeout = DialTimeout
	}
	return cfg, nil
}

// Connect opens a pool and checks that the server answers, retrying a lost
// or refused connection with backoff.
func Connect(ctx context.Context, rawURL string, o Options) (*sql.DB, error) {
	cfg, err := DriverConfig(rawURL, o)
	if err != nil {
		return nil, err
	}
	base, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %s", Redact(rawURL), scrub(err.Error(), rawURL))
	}
	db := sql.OpenDB(&sessionConnector{Connector: base, o: o})
	n := o.MaxConns
	if n <= 0 {
		n = DefaultMaxConns
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	// below the server's wait_timeout (8 hours by default), so an idle
	// connection is dropped by us before the server drops it under us
	db.SetConnMaxIdleTime(5 * time.Minute)
	err = Retry(ctx, DefaultRetry, func(ctx context.Context) error { return db.PingContext(ctx) })
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to %s: %s", Redact(rawURL), scrub(err.Error(), rawURL))
	}
	return db, nil
}

// Redact hides the password of a mysql URL.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		// Unparseable: keep only the scheme so nothing secret can leak.
		scheme, _, _ := strings.Cut(raw, "://")
		return scheme + "://****"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	// the password once more wherever else it appears (a parameter)
	return strings.Replace(scrub(u.String(), raw), "xxxxx", "****", 1)
}

// scrub removes the password of rawURL from msg, whatever the driver put
// there.
func scrub(msg, rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "invalid url"
	}
	if pw, has := u.User.Password(); has && pw != "" {
		msg = strings.ReplaceAll(msg, pw, "****")
		msg = strings.ReplaceAll(msg, url.QueryEscape(pw), "****")
		msg = strings.ReplaceAll(msg, url.PathEscape(pw), "****")
	}
	return msg
}

// Address names what a URL reaches, host:port/database, without
// credentials ("" if it does not parse).
func Address(rawURL string) string {
	cfg, err := DriverConfig(rawURL, Options{})
	if err != nil {
		return ""
	}
	return cfg.Addr + "/" + cfg.DBName
}
