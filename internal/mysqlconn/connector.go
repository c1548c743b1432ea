package mysqlconn

import (
	"strings"

	"github.com/hoist-dev/hoist/connector"
)

// Type is the connection type of MySQL and MariaDB.
const Type = "mysql"

func init() {
	connector.Register(connector.Spec{Type: Type, Summary: "MySQL or MariaDB (source, destination)",
		NewConfig: func() connector.Config { return &Config{} }})
}

// Validate implements connector.Config.
func (c *Config) Validate(p connector.Problems) {
	if c.URL == "" {
		p.Add("url", "url is required")
	} else if !strings.HasPrefix(c.URL.Reveal(), "mysql://") {
		p.Add("url", "url must start with mysql://")
	}
}

// Address implements connector.Config: host:port/database, no credentials.
func (c *Config) Address() string { return Address(c.URL.Reveal()) }
