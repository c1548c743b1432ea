package extract

import (
	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/internal/filefmt"
)

// FilesSource is a files source's keys.
type FilesSource struct {
	// Path is a file, folder or glob under the connection's path.
	Path string `yaml:"path" doc:"file or glob, relative to the connection's path when that is a folder"`
	// Format overrides the connection's format.
	Format string `yaml:"format" doc:"overrides the connection's format"`
}

// Validate implements connector.SourceConfig.
func (s *FilesSource) Validate(conn connector.Config, p connector.Problems) {
	filefmt.CheckFormat(s.Format, "format", p)
	if c, ok := conn.(*filefmt.Config); ok && s.Format == "" && c.Format == "" {
		p.Add("format", "format is required (on the source or its files connection)")
	}
}

// Identity implements connector.SourceConfig.
func (s *FilesSource) Identity() [][2]string {
	return [][2]string{{"path", s.Path}, {"format", s.Format}}
}
