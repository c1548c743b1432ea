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
	DSN                 spec.Secret   `yaml:"dsn"`
	Account             string        `yaml:"account"`
	User                string        `yaml:"user"`
	Password            spec.Secret   `yaml:"password"`
	Database            string        `yaml:"database"`
	Schema              string        `yaml:"schema"`
	Warehouse           string        `yaml:"warehouse"`
	Role                string        `yaml:"role"`
	PrivateKeyPath      string        `yaml:"private_key_path"`
	DownloadConcurrency int           `yaml:"download_concurrency"`
	LoginTimeout        spec.Duration `yaml:"login_timeout"`
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
