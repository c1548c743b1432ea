package filefmt

import (
	"path/filepath"
	"slices"
	"strings"

	"github.com/hoist-dev/hoist/connector"
)

// Type is the connection type of a folder of files.
const Type = "files"

// Formats a files connection reads and writes.
var Formats = []string{"parquet", "csv", "jsonl"}

// Compressions of Parquet files written.
var Compressions = []string{"snappy", "zstd", "gzip", "none"}

func init() {
	connector.Register(connector.Spec{Type: Type, Summary: "a folder of Parquet, CSV or JSON Lines files (source, destination)",
		NewConfig: func() connector.Config { return &Config{} }})
}

// Config is a files connection's keys.
type Config struct {
	// Path is the folder (or, for a source, a file), relative to the spec's folder.
	Path string `yaml:"path" doc:"a file, folder or glob (a source); the folder written into (a destination)"`
	// Format is parquet, csv or jsonl; a source or destination may override it.
	Format string `yaml:"format" doc:"parquet, csv or jsonl (a source or destination may override it)"`
	// Compression of Parquet files written: snappy (default), zstd, gzip or none.
	Compression string `yaml:"compression" doc:"Parquet written: snappy (default), zstd, gzip or none"`
}

// Validate implements connector.Config.
func (c *Config) Validate(p connector.Problems) {
	if c.Path == "" {
		p.Add("path", "path is required")
	}
	CheckFormat(c.Format, "format", p)
	if c.Compression != "" && !slices.Contains(Compressions, c.Compression) {
		p.Add("compression", "unknown compression %q (want snappy, zstd, gzip or none)", c.Compression)
	}
}

// CheckFormat reports a format that is set and not one of Formats.
func CheckFormat(format, field string, p connector.Problems) {
	if format != "" && !slices.Contains(Formats, format) {
		p.Add(field, "unknown format %q (want parquet, csv or jsonl)", format)
	}
}

// Address implements connector.Config: the path as written (a spec moved
// with its files keeps its identity), and the format.
func (c *Config) Address() string {
	addr := filepath.ToSlash(filepath.Clean(c.Path))
	if c.Format != "" {
		addr += " format=" + c.Format
	}
	return addr
}

// Dest is a files destination's keys. It lives here, not in load, because
// the files source reads a destination's object back (--refresh) too.
type Dest struct {
	// Format overrides the connection's format.
	Format string `yaml:"format" doc:"overrides the connection's format"`
}

// Validate implements connector.DestConfig.
func (d *Dest) Validate(dest connector.Dest, p connector.Problems) {
	CheckFormat(d.Format, "format", p)
	c, _ := dest.Conn.(*Config)
	if d.Format == "" && (c == nil || c.Format == "") && !strings.Contains(dest.Object, ".") {
		p.Add("format", "format is required (on the destination, its connection, or as the object's extension)")
	}
	if dest.Object != "" && !filepath.IsLocal(dest.Object) {
		p.Add("object", "object %q must be a file name inside the connection's folder (no .. or absolute path)", dest.Object)
	}
}

// FormatOf returns the format a destination writes: its own, else the
// connection's ("" leaves it to the object's extension).
func (d *Dest) FormatOf(c *Config) string {
	if d != nil && d.Format != "" {
		return d.Format
	}
	return c.Format
}

// ObjectKey spells an object as the file it names: cleaned, with the
// format's extension when it has none.
func ObjectKey(conn connector.Config, dest connector.DestConfig, object string) string {
	c, _ := conn.(*Config)
	d, _ := dest.(*Dest)
	obj := filepath.Clean(object)
	if c != nil {
		if format := d.FormatOf(c); filepath.Ext(obj) == "" && format != "" {
			obj += "." + format
		}
	}
	return obj
}
