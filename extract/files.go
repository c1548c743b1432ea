package extract

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/internal/filefmt"
	"github.com/hoist-dev/hoist/sync/spec"
)

func init() {
	Register(filefmt.Type, func() connector.SourceConfig { return &FilesSource{} }, openFiles)
}

// filesSource reads Parquet, CSV or JSON Lines files: the connection's path,
// or the source's path under it (see filefmt.Resolve). Several files are read
// one after another as one stream. It does no cursor pushdown: the pipeline
// filters on the cursor, and a file has no index to seek with anyway.
type filesSource struct {
	name string
	conn *filefmt.Config
	dir  string
}

var _ Source = (*filesSource)(nil)

func openFiles(_ context.Context, conn *spec.Connection, dir string) (Source, error) {
	cfg, err := connector.As[*filefmt.Config](conn.Config)
	if err != nil {
		return nil, err
	}
	if cfg.Path == "" {
		return nil, fmt.Errorf("files connection %s: path is required", conn.Name)
	}
	return &filesSource{name: conn.Name, conn: cfg, dir: dir}, nil
}

func (s *filesSource) Read(ctx context.Context, req Request) (array.RecordReader, error) {
	format := s.conn.Format
	srcPath := ""
	if req.Source != nil && req.Source.Config != nil {
		fs, err := connector.As[*FilesSource](req.Source.Config)
		if err != nil {
			return nil, err
		}
		srcPath = fs.Path
		if fs.Format != "" {
			format = fs.Format
		}
	}
	if err := filefmt.Check(format); err != nil {
		return nil, fmt.Errorf("files source %s: %w", s.name, err)
	}
	paths, err := filefmt.Resolve(s.dir, s.conn.Path, srcPath, format)
	if err != nil {
		return nil, fmt.Errorf("files source %s: %w", s.name, err)
	}
	req.Log().Debug("reading files", "files", len(paths), "format", format)
	opts := filefmt.ReadOptions{Rows: req.Rows(), Alloc: req.Allocator()}
	rr, err := filefmt.OpenAll(ctx, paths, format, opts, s.displayName)
	if err != nil {
		return nil, fmt.Errorf("files source %s: %w", s.name, err)
	}
	return rr, nil
}

// displayName names a file in errors relative to the spec's folder when it
// lies inside it, as the user wrote it, rather than as a long absolute path.
func (s *filesSource) displayName(p string) string {
	if s.dir == "" {
		return p
	}
	if rel, err := filepath.Rel(s.dir, p); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return p
}

func (s *filesSource) Close() error { return nil }
