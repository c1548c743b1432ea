package extract

import (
	"context"
	"fmt"

	"github.com/hoist-dev/hoist/internal/httpkit"
	"github.com/hoist-dev/hoist/sync/spec"
)

// Check tests that a source connection answers, without reading any rows
// (validate --connect). Opening a source connects to databases and refuses a
// missing SQLite file, but an http source only builds a client: it is probed.
func Check(ctx context.Context, conn *spec.Connection, dir string) error {
	if cfg, ok := conn.Config.(*httpkit.Config); ok {
		c, err := httpkit.NewClient(conn.Name, cfg)
		if err != nil {
			return fmt.Errorf("source %s: %w", conn.Name, err)
		}
		defer c.Close()
		if err := c.Probe(ctx); err != nil {
			return fmt.Errorf("source %s: %w", conn.Name, err)
		}
		return nil
	}
	src, err := Open(ctx, conn, dir)
	if err != nil {
		return err
	}
	return src.Close()
}
