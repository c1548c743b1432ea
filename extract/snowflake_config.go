package extract

import (
	"strings"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/sync/spec"
)

// SnowflakeType is the connection type of Snowflake.
const SnowflakeType = "snowflake"

func init() {
	connector.Register(connector.Spec{Type: SnowflakeType, Summary: "Snowflake (source)",
		NewConfig: func() connector.Config { return &SnowflakeConfig{} }})
}

// SnowflakeConfig is a snowflake connection's keys: a dsn, or the separate
// keys (which override what a dsn says).
type SnowflakeConfig struct {
	DSN                 spec.Secret   `yaml:"dsn" doc:"a gosnowflake DSN (a secret); or account, user and the keys beside it"`
	Account             string        `yaml:"account" doc:"account identifier"`
	User                string        `yaml:"user" doc:"login name"`
	Password            spec.Secret   `yaml:"password" doc:"password (a secret); or private_key_path"`
	Database            string        `yaml:"database" doc:"database"`
	Schema              string        `yaml:"schema" doc:"schema"`
	Warehouse           string        `yaml:"warehouse" doc:"warehouse"`
	Role                string        `yaml:"role" doc:"role"`
	PrivateKeyPath      string        `yaml:"private_key_path" doc:"PKCS#8 PEM file for key-pair (JWT) login"`
	DownloadConcurrency int           `yaml:"download_concurrency" doc:"result chunks downloaded at once (default 4, at most 1024)"`
	LoginTimeout        spec.Duration `yaml:"login_timeout" doc:"login timeout, a duration (default 10s)"`
}

// Validate implements connector.Config.
func (c *SnowflakeConfig) Validate(p connector.Problems) {
	if c.DSN == "" && (c.Account == "" || c.User == "") {
		p.Add("", "snowflake needs dsn, or account and user")
	}
	if c.DSN == "" && c.Password == "" && c.PrivateKeyPath == "" {
		p.Add("", "snowflake needs password or private_key_path (or a dsn)")
	}
	if c.DownloadConcurrency < 0 {
		p.Add("download_concurrency", "must be positive")
	} else if c.DownloadConcurrency > spec.MaxConcurrency {
		p.Add("download_concurrency", "must be at most %d (got %d)", spec.MaxConcurrency, c.DownloadConcurrency)
	}
}

// Address implements connector.Config: account/database/schema, from the
// dsn where there is one (what follows its @, without parameters).
func (c *SnowflakeConfig) Address() string {
	addr := c.Account + "/" + c.Database + "/" + c.Schema
	if dsn := c.DSN.Reveal(); dsn != "" {
		if at := strings.LastIndexByte(dsn, '@'); at >= 0 {
			dsn = dsn[at+1:]
		}
		addr, _, _ = strings.Cut(dsn, "?")
	}
	return addr
}
