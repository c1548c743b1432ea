package pgconn

import (
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/sync/spec"
)

// Type is the connection type of PostgreSQL.
const Type = "postgres"

func init() {
	connector.Register(connector.Spec{Type: Type, Summary: "PostgreSQL (source, destination, state store)",
		NewConfig: func() connector.Config { return &Config{} }})
}

// Config is a postgres connection's keys.
type Config struct {
	// URL is postgres://USER:PASSWORD@HOST:PORT/DATABASE?params.
	URL spec.Secret `yaml:"url" doc:"postgres://USER:PASSWORD@HOST:PORT/DB?sslmode=… (a secret: never printed)"`
	// StatementTimeout sets the session's statement_timeout.
	StatementTimeout spec.Duration `yaml:"statement_timeout" doc:"session statement_timeout, a duration (30s, 5m, or seconds)"`
}

// Validate implements connector.Config.
func (c *Config) Validate(p connector.Problems) {
	if c.URL == "" {
		p.Add("url", "url is required")
	} else if u := c.URL.Reveal(); !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
		p.Add("url", "url must start with postgres://")
	}
}

// Address implements connector.Config: host:port/database.
func (c *Config) Address() string {
	cfg, err := pgx.ParseConfig(c.URL.Reveal())
	if err != nil {
		return ""
	}
	return fmt.Sprintf("%s:%d/%s", cfg.Host, cfg.Port, cfg.Database)
}

// Options returns the pool options the connection's keys ask for.
func (c *Config) Options() Options {
	return Options{StatementTimeout: c.StatementTimeout.D()}
}
