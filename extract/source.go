// Package extract reads rows from sources as Apache Arrow record batches.
//
// Each connector lives in its own file and registers itself by connection
// type in init, so the pipeline opens any source through Open.
package extract

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/internal/cursor"
	"github.com/hoist-dev/hoist/internal/shard"
	"github.com/hoist-dev/hoist/sync/spec"
)

// DefaultBatchRows is the number of rows a source aims to put in one record.
const DefaultBatchRows = 8192

// Request says what one sync extracts.
type Request struct {
	// Sync is the sync's name, for logs and errors.
	Sync string
	// Source is the sync's source block (query, table, path, cursor, http keys).
	Source *spec.Source
	// After, when set, asks for rows whose Source.Cursor column is greater than
	// it. Pushing the filter down is an optimisation: the pipeline filters again,
	// so a source that cannot push down may return every row, but a source that
	// pushes down should also order by the cursor column.
	After *cursor.Cursor
	// BatchRows is the target number of rows per record (DefaultBatchRows if 0).
	BatchRows int
	// Alloc allocates every Arrow buffer (memory.DefaultAllocator if nil).
	Alloc memory.Allocator
	// Logger takes the source's logs; never nil when set by the pipeline.
	// It carries the "sync" attribute already: do not add it again.
	Logger *slog.Logger
	// Shard, when set, asks for the rows of one shard only (run --shard).
	// Like After, pushing it down is an optimisation: the pipeline keeps
	// the shard's rows of whatever the source returns.
	Shard *ShardFilter
}

// ShardFilter is the shard a sharded run reads.
type ShardFilter struct {
	Spec shard.Spec
	// Columns are the source columns the key's text is made of, in key
	// order; nil when a key column is not a plain source column (a cast
	// or a constant in the mapping): the source cannot push down then.
	Columns []string
	// Pushed is set by a source whose query keeps only the shard's rows;
	// the pipeline then checks every row instead of filtering.
	Pushed bool
}

// pushable reports whether the request asks for a shard a source could
// filter in its query.
func (r *Request) pushableShard() bool {
	return r.Shard != nil && r.Shard.Spec.Sharded() && len(r.Shard.Columns) > 0
}

// Rows returns the target rows per record.
func (r *Request) Rows() int {
	if r.BatchRows > 0 {
		return r.BatchRows
	}
	return DefaultBatchRows
}

// Allocator returns the request's allocator or the default one.
func (r *Request) Allocator() memory.Allocator {
	if r.Alloc != nil {
		return r.Alloc
	}
	return memory.DefaultAllocator
}

// Log returns the request's logger or one that discards.
func (r *Request) Log() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Source is an opened source connection.
type Source interface {
	// Read starts extraction. The reader owns its records (callers Retain what
	// they keep) and must stop early, reporting ctx.Err() through Err, when ctx
	// is cancelled. Every record of one Read has the same schema. The caller
	// calls Release on the reader when done, also on error paths.
	Read(ctx context.Context, req Request) (array.RecordReader, error)
	// Close releases the connection.
	Close() error
}

// Opener opens a source for a connection; dir is the spec file's folder,
// against which relative paths resolve. conn.Config is the config the
// type's connector registered.
type Opener func(ctx context.Context, conn *spec.Connection, dir string) (Source, error)

var openers connector.Table[Opener]

// Register makes a connection type available as a source: newConfig makes
// the struct a sync's source keys of that type decode into, and o opens it.
// Connector files call it from init.
func Register(typ string, newConfig func() connector.SourceConfig, o Opener) {
	connector.RegisterSource(typ, connector.SourceRole{NewConfig: newConfig})
	openers.Set(typ, o)
}

// Types lists the registered source types.
func Types() []string { return openers.Types() }

// Open opens the source for conn.
func Open(ctx context.Context, conn *spec.Connection, dir string) (Source, error) {
	o, ok := openers.Get(conn.Type)
	if !ok {
		return nil, fmt.Errorf("connection %s: type %q cannot be a source", conn.Name, conn.Type)
	}
	src, err := sharedOpen(ctx, conn.Type, conn.Name, dir, func() (Source, error) { return o(ctx, conn, dir) })
	if err != nil {
		return nil, fmt.Errorf("open source %s: %w", conn.Name, err)
	}
	return src, nil
}

// newSQLSource is the source config of the SQL databases: query or table.
func newSQLSource() connector.SourceConfig { return &connector.SQLSource{} }

// sqlSource returns a SQL source's query and table.
func sqlSource(req Request) (*connector.SQLSource, error) {
	if req.Source == nil {
		return nil, fmt.Errorf("sync %s: no source block", req.Sync)
	}
	return connector.As[*connector.SQLSource](req.Source.Config)
}
