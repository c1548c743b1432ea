package sqlitedb

import (
	"path/filepath"

	"github.com/hoist-dev/hoist/connector"
)

// Type is the connection type of SQLite.
const Type = "sqlite"

func init() {
	connector.Register(connector.Spec{Type: Type, Summary: "SQLite database file (source, destination)",
		NewConfig: func() connector.Config { return &Config{} }})
}

// Config is a sqlite connection's keys.
type Config struct {
	// Path is the database file, relative to the spec's folder.
	Path string `yaml:"path" doc:"the database file"`
}

// Validate implements connector.Config.
func (c *Config) Validate(p connector.Problems) {
	if c.Path == "" {
		p.Add("path", "path is required")
	}
}

// Address implements connector.Config: the path as written, so a spec moved
// to another folder with its state and database keeps its identity.
func (c *Config) Address() string { return filepath.ToSlash(filepath.Clean(c.Path)) }
