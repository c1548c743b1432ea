package extract

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"database/sql"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	stdsync "sync"
	"time"

	sf "github.com/snowflakedb/gosnowflake"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/sync/spec"
)

// Snowflake defaults. The driver's own login timeout is 300 s, far too
// long for a CLI run from cron: a wrong host should fail in seconds.
const (
	defaultSnowflakeLoginTimeout       = 10 * time.Second
	defaultSnowflakeDownloadConcurrent = 4
)

func init() { Register(SnowflakeType, newSQLSource, openSnowflake) }

var snowflakeStartup stdsync.Once

// prepareSnowflakeDriver turns off what a CLI must not do at start-up: probe
// cloud metadata addresses (the driver does it on first connect unless the
// variable is set) and load the embedded "minicore" library (builds use
// -tags minicore_disabled, which is what really stops it, since the driver
// starts loading in its own init; the variable covers later code paths).
// The driver's logger is silenced: hoist reports errors itself.
func prepareSnowflakeDriver() {
	snowflakeStartup.Do(func() {
		_ = os.Setenv("SNOWFLAKE_DISABLE_PLATFORM_DETECTION", "true")
		_ = os.Setenv("SF_DISABLE_MINICORE", "true")
		// "OFF" alone leaves the driver's WithContext(...) logs on, so
		// discard its output too.
		l := sf.GetLogger()
		_ = l.SetLogLevel("OFF")
		l.SetOutput(io.Discard)
	})
}

type snowflakeSource struct {
	name        string
	db          *sql.DB
	concurrency int
}

var _ Source = (*snowflakeSource)(nil)

func openSnowflake(ctx context.Context, c *spec.Connection, dir string) (Source, error) {
	prepareSnowflakeDriver()
	conn, err := connector.As[*SnowflakeConfig](c.Config)
	if err != nil {
		return nil, err
	}
	cfg, err := driverConfig(conn, dir)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(sf.NewConnector(sf.SnowflakeDriver{}, *cfg))
	// Ping logs in: a wrong password or unreachable account fails here, at
	// open, within the login timeout, instead of in the middle of a sync.
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("connect to snowflake account %q as %q: %w", cfg.Account, cfg.User, redact(err, conn, cfg))
	}
	n := conn.DownloadConcurrency
	if n <= 0 {
		n = defaultSnowflakeDownloadConcurrent
	}
	return &snowflakeSource{name: c.Name, db: db, concurrency: n}, nil
}

func (s *snowflakeSource) Close() error {
	// Closing the pool closes each session (POST /session?delete=true).
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close snowflake connection %s: %w", s.name, err)
	}
	return nil
}

// driverConfig builds the driver config from the dsn or the separate
// keys; separate keys override what the dsn says.
func driverConfig(conn *SnowflakeConfig, dir string) (*sf.Config, error) {
	cfg := &sf.Config{}
	if conn.DSN != "" {
		dsn := conn.DSN.Reveal()
		if conn.PrivateKeyPath != "" && !strings.Contains(strings.ToLower(dsn), "authenticator=") {
			// Key-pair auth needs no password; tell the parser before it asks for one.
			dsn += map[bool]string{true: "&", false: "?"}[strings.Contains(dsn, "?")] + "authenticator=SNOWFLAKE_JWT"
		}
		parsed, err := sf.ParseDSN(dsn)
		if err != nil {
			return nil, fmt.Errorf("parse snowflake dsn: %w", redact(err, conn, nil))
		}
		cfg = parsed
	}
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&cfg.Account, conn.Account)
	set(&cfg.User, conn.User)
	set(&cfg.Password, conn.Password.Reveal())
	set(&cfg.Database, conn.Database)
	set(&cfg.Schema, conn.Schema)
	set(&cfg.Warehouse, conn.Warehouse)
	set(&cfg.Role, conn.Role)
	if conn.PrivateKeyPath != "" {
		key, err := readPrivateKey(resolvePath(dir, conn.PrivateKeyPath))
		if err != nil {
			return nil, err
		}
		cfg.Authenticator = sf.AuthTypeJwt
		cfg.PrivateKey = key
	}
	switch {
	case conn.LoginTimeout > 0:
		cfg.LoginTimeout = conn.LoginTimeout.D()
	case !strings.Contains(conn.DSN.Reveal(), "loginTimeout="):
		cfg.LoginTimeout = defaultSnowflakeLoginTimeout
	}
	cfg.DisableTelemetry = true
	if cfg.Params == nil {
		cfg.Params = map[string]*string{}
	}
	// A UTC session makes a bound time.Time cursor (sent as TIMESTAMP_NTZ)
	// compare with TIMESTAMP_LTZ/TZ columns as the UTC instant it is.
	utc := "UTC"
	cfg.Params["timezone"] = &utc
	return cfg, nil
}

func resolvePath(dir, p string) string {
	if filepath.IsAbs(p) || dir == "" {
		return p
	}
	return filepath.Join(dir, p)
}

// readPrivateKey reads an unencrypted PKCS #8 PEM RSA key, the format
// Snowflake's key-pair guide produces (openssl genrsa | openssl pkcs8 -nocrypt).
func readPrivateKey(path string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read snowflake private key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("read snowflake private key %s: no PEM block found", path)
	}
	if block.Type == "ENCRYPTED PRIVATE KEY" {
		return nil, fmt.Errorf("read snowflake private key %s: encrypted keys are not supported (export it with openssl pkcs8 -nocrypt)", path)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		if k, err2 := x509.ParsePKCS1PrivateKey(block.Bytes); err2 == nil {
			return k, nil
		}
		return nil, fmt.Errorf("read snowflake private key %s: want an unencrypted PKCS #8 PEM key: %w", path, err)
	}
	key, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("read snowflake private key %s: key is %T, snowflake needs RSA", path, parsed)
	}
	return key, nil
}

// redactedError is a driver error whose message has the connection's
// secrets removed; Unwrap keeps errors.As working on the driver's type.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redact removes every secret of the connection from a driver error: the
// driver's messages can quote a dsn or URL.
func redact(err error, conn *SnowflakeConfig, cfg *sf.Config) error {
	msg := err.Error()
	secrets := []string{conn.DSN.Reveal(), conn.Password.Reveal()}
	if cfg != nil {
		secrets = append(secrets, cfg.Password)
	}
	for _, s := range secrets {
		if len(s) >= 3 {
			msg = strings.ReplaceAll(msg, s, "****")
		}
	}
	return &redactedError{msg: msg, err: err}
}

// errSnowflakeRows reports a driver that did not return Snowflake rows
// (it never should; guards the type assertions).
var errSnowflakeRows = errors.New("snowflake driver returned rows without arrow batches")
