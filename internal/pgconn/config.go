// Package pgconn holds what hoist's PostgreSQL source, destination and state
// store share: connection config from a URL, retry on connection loss, error
// classes and identifier quoting.
//
// It wraps github.com/jackc/pgx/v5; passwords never leave it in an error.
package pgconn

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultMaxConns caps a pool; loaders rarely gain past a handful of
// concurrent COPY streams on one server.
const DefaultMaxConns = 8

// Options are the connection keys besides the URL.
type Options struct {
	// StatementTimeout sets the session's statement_timeout (0: server default).
	StatementTimeout time.Duration
	// AppName is sent as application_name, so DBAs see who is connected.
	AppName string
	// MaxConns caps the pool (DefaultMaxConns if 0).
	MaxConns int32
}

// PoolConfig parses a postgres:// URL into a pool config. sslmode comes from
// the URL; when absent pgx defaults to prefer. Errors never carry the password.
func PoolConfig(rawURL string, o Options) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		// pgx redacts the password inside ParseConfigError; say it once more
		// in our own words with our own redaction so nothing depends on that.
		return nil, fmt.Errorf("parse postgres url %s: %s", Redact(rawURL), scrub(err.Error(), rawURL))
	}
	rp := cfg.ConnConfig.RuntimeParams
	if o.StatementTimeout > 0 {
		rp["statement_timeout"] = strconv.FormatInt(o.StatementTimeout.Milliseconds(), 10)
	}
	if _, ok := rp["application_name"]; !ok {
		name := o.AppName
		if name == "" {
			name = "hoist"
		}
		rp["application_name"] = name
	}
	cfg.MaxConns = DefaultMaxConns
	if o.MaxConns > 0 {
		cfg.MaxConns = o.MaxConns
	}
	return cfg, nil
}

// Connect opens a pool and checks that the server answers, retrying a lost
// or refused connection with backoff.
func Connect(ctx context.Context, rawURL string, o Options) (*pgxpool.Pool, error) {
	cfg, err := PoolConfig(rawURL, o)
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %s", Redact(rawURL), scrub(err.Error(), rawURL))
	}
	err = Retry(ctx, DefaultRetry, func(ctx context.Context) error { return pool.Ping(ctx) })
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to %s: %s", Redact(rawURL), scrub(err.Error(), rawURL))
	}
	return pool, nil
}

// ConnectOne opens a single connection outside any pool (a session-level
// advisory lock must stay on one connection that no one else borrows).
func ConnectOne(ctx context.Context, cfg *pgxpool.Config) (*pgx.Conn, error) {
	var conn *pgx.Conn
	err := Retry(ctx, DefaultRetry, func(ctx context.Context) error {
		c, err := pgx.ConnectConfig(ctx, cfg.ConnConfig.Copy())
		conn = c
		return err
	})
	return conn, err
}

// Redact hides the password of a postgres URL (and of password= params).
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
	q := u.Query()
	for _, k := range []string{"password", "sslpassword"} {
		if q.Has(k) {
			q.Set(k, "xxxxx")
		}
	}
	u.RawQuery = q.Encode()
	return strings.Replace(u.String(), "xxxxx", "****", -1)
}

// scrub removes the password of rawURL from msg, whatever pgx put there.
func scrub(msg, rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "invalid url"
	}
	if pw, has := u.User.Password(); has && pw != "" {
		msg = strings.ReplaceAll(msg, pw, "****")
		msg = strings.ReplaceAll(msg, url.QueryEscape(pw), "****")
	}
	if pw := u.Query().Get("password"); pw != "" {
		msg = strings.ReplaceAll(msg, pw, "****")
	}
	return msg
}

// StripParam removes query parameter key from a URL and returns its value;
// hoist-only parameters must not reach the server as runtime params.
func StripParam(raw, key string) (string, string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", fmt.Errorf("parse postgres url %s: invalid url", Redact(raw))
	}
	q := u.Query()
	v := q.Get(key)
	q.Del(key)
	u.RawQuery = q.Encode()
	return u.String(), v, nil
}

// Ident quotes a possibly schema-qualified name ("schema.table") for SQL.
// Names are split on the first dot only; a name that itself contains dots
// can be given already quoted ("\"my.table\"").
func Ident(name string) string {
	return pgx.Identifier(SplitName(name)).Sanitize()
}

// SplitName splits "schema.table" or "\"sch\".\"tab\"" into its parts.
func SplitName(name string) []string {
	var parts []string
	for len(name) > 0 {
		if name[0] == '"' {
			end := 1
			var b strings.Builder
			for end < len(name) {
				if name[end] == '"' {
					if end+1 < len(name) && name[end+1] == '"' {
						b.WriteByte('"')
						end += 2
						continue
					}
					break
				}
				b.WriteByte(name[end])
				end++
			}
			parts = append(parts, b.String())
			name = strings.TrimPrefix(name[min(end+1, len(name)):], ".")
			continue
		}
		p, rest, found := strings.Cut(name, ".")
		parts = append(parts, p)
		if !found || len(parts) == 2 {
			if found {
				parts[len(parts)-1] = p + "." + rest
			}
			break
		}
		name = rest
	}
	return parts
}

// Col quotes a single column name (dots are part of the name).
func Col(name string) string { return pgx.Identifier{name}.Sanitize() }
