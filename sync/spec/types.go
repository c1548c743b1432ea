// Package spec defines hoist's declarative sync spec (version 1, see docs/spec.md),
// loads it from YAML with line numbers kept for every field, and validates it.
package spec

import (
	"time"

	"github.com/hoist-dev/hoist/connector"
)

// Modes a destination can be written in.
const (
	ModeInsert  = "insert"
	ModeUpdate  = "update"
	ModeUpsert  = "upsert"
	ModeMirror  = "mirror"
	ModeAppend  = "append"
	ModeReplace = "replace"
)

// Defaults applied by Load when a sync leaves a knob unset.
const (
	DefaultConcurrency       = 4
	DefaultMaxDeleteFraction = 0.5
)

// File is one parsed spec file.
type File struct {
	// Path is the spec file as given on the command line; Dir is its folder,
	// absolute: relative paths in the spec resolve against it.
	Path string `yaml:"-"`
	Dir  string `yaml:"-"`
	// DefaultState is set when the spec names no state store, and State
	// was set to .hoist/<spec file name>/ beside the spec.
	DefaultState bool `yaml:"-"`

	Version     int                    `yaml:"version" doc:"must be 1"`
	State       string                 `yaml:"state" doc:"state store: file://DIR (default: a .hoist/ folder beside the spec) or postgres://… (?hoist_schema=NAME, default hoist) to share state between runners"`
	Connections map[string]*Connection `yaml:"connections" doc:"map of connection name to connection"`
	Syncs       []*Sync                `yaml:"syncs" doc:"list of syncs"`

	// pos maps a field path such as "syncs[1].destination.mode" to its line.
	pos map[string]int
	// skip holds the paths whose value Load could not read (wrong shape,
	// unset ${VAR}): already reported, so Validate does not judge them.
	skip map[string]bool
	// Warnings are doubts that do not make the spec invalid.
	Warnings []*Problem `yaml:"-"`
}

// Connection is one named connection: its type, and the keys that type
// declares in the connector registry, decoded into the connector's own
// config struct.
type Connection struct {
	Name string `yaml:"-"`
	Type string `yaml:"type" doc:"a registered connection type; each type takes only its own keys"`
	// Config holds the type's own keys (nil when the type is unknown).
	Config connector.Config `yaml:"-"`
}

// Sync is one source → destination pipeline.
type Sync struct {
	Name        string     `yaml:"name" doc:"unique name, used by --sync, in state and in reports"`
	Source      Source     `yaml:"source" doc:"what to extract"`
	Destination Dest       `yaml:"destination" doc:"where to write and how"`
	Mappings    []*Mapping `yaml:"mappings" doc:"list of field mappings; default: every column to the same name"`
	// BatchSize is 0 when the spec sets none: the destination then sizes
	// its batches (load.BatchLimits).
	BatchSize   int `yaml:"batch_size" doc:"rows per destination request or statement (default: fitted to the destination: megabyte batches for databases and files, 100 rows for HTTP APIs)"`
	Concurrency int `yaml:"concurrency" doc:"parallel loaders (default 4, or the destination's own: 16 for hubspot; at most 1024)"`
	// ConcurrencyDefault: the spec set no concurrency (Concurrency holds
	// DefaultConcurrency), so a destination may ask for its own default.
	ConcurrencyDefault bool     `yaml:"-"`
	OnReject           OnReject `yaml:"on_reject" doc:"where rejected rows go"`
	// OnDuplicate is "error" (default) or "last": what a duplicate key in the source does.
	OnDuplicate string `yaml:"on_duplicate" doc:"error (default) or last: what a duplicate primary key in the source does"`
	// MaxDeleteFraction bounds mirror deletes per run (default 0.5).
	MaxDeleteFraction *float64 `yaml:"max_delete_fraction" doc:"mirror refuses to delete more than this share of the snapshot in one run (default 0.5, between 0 and 1)"`
	// After names syncs that must finish first when `run` runs syncs in
	// parallel (see sync/schedule.go): if one of them fails, this one is
	// skipped.
	After []string `yaml:"after" doc:"list of sync names that must finish first; if one fails, this sync is skipped"`
	// Diff says where a keyed sync's diff is computed: DiffClient (hoist
	// reads every row and compares it with the snapshot in the state
	// store) or DiffWarehouse (the snapshot lives in the source database and
	// one query there returns only the changed rows).
	Diff string `yaml:"diff" doc:"where the diff runs: client (default; every row is read and compared by hoist) or warehouse (postgres sources: the snapshot lives in the source database's hoist_diff schema and only changed rows leave it)"`

	// Index is the position in File.Syncs, used for error paths.
	Index int `yaml:"-"`
}

// Source says what to extract: the envelope keys every source has, and the
// keys of the source's connection type in Config.
type Source struct {
	Connection string `yaml:"connection" doc:"name of a connection"`
	Cursor     string `yaml:"cursor" doc:"column for incremental extraction: only rows whose cursor is past the last committed one. Not with mirror or replace"`
	// CursorLookback re-reads this window before the committed cursor (a
	// duration for time cursors, a number for numeric ones), so rows that
	// committed late, with a cursor value below one already passed, are
	// still picked up; the diff drops what was already delivered.
	CursorLookback string `yaml:"cursor_lookback" doc:"re-read this window before the committed cursor, to pick up late-committing rows; a duration like 10m for time cursors or a number for numeric ones"`
	// Config holds the connection type's source keys (query, table, path,
	// endpoint…); nil when the connection or its type is unknown.
	Config connector.SourceConfig `yaml:"-"`
}

// Dest says where to write and how: the envelope keys every destination
// has, and the keys of its connection type in Config.
type Dest struct {
	Connection string   `yaml:"connection" doc:"name of a connection"`
	Object     string   `yaml:"object" doc:"table (schema.table allowed) or file name inside the files connection's folder (no .., not absolute; extension added from the format); optional for http"`
	Mode       string   `yaml:"mode" doc:"how rows are written: insert, update, upsert, mirror, append or replace"`
	PrimaryKey []string `yaml:"primary_key" doc:"list of distinct columns; required for insert, update, upsert, mirror"`
	// Config holds the connection type's destination keys (create_table,
	// format, operations…); nil when the connection or its type is unknown.
	Config connector.DestConfig `yaml:"-"`
}

// Mapping maps a source column (From) or a constant (Value) onto a destination field.
type Mapping struct {
	From  string  `yaml:"from" doc:"source column; or value"`
	To    string  `yaml:"to" doc:"destination field, unique; dotted names nest in JSON destinations"`
	Value *string `yaml:"value" doc:"constant; or from"`
	// Type casts the value: string, int64, float64, bool, timestamp, date, decimal(p,s), json.
	Type string `yaml:"type" doc:"cast: string, int64, float64, bool, timestamp, date, decimal(p,s) or json"`
}

// OnReject says where rejected rows go and how many a run tolerates.
type OnReject struct {
	File        string `yaml:"file" doc:"JSON lines file of rejected rows (default rejected/<sync>.jsonl beside the spec), appended across runs"`
	MaxRejected *int   `yaml:"max_rejected" doc:"the run fails (exit 1) past this many rejected rows, NULL keys included (default: no limit)"`
}

// Duration is a time.Duration written as "30s" or "5m" in YAML.
type Duration time.Duration

// D returns the duration as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Diff engines (Sync.Diff).
const (
	DiffClient    = "client"
	DiffWarehouse = "warehouse"
)

// WarehouseDiff reports whether the sync's diff runs in the source database.
func (s *Sync) WarehouseDiff() bool { return s.Diff == DiffWarehouse }

// KeyNeeded reports whether mode diffs against a snapshot by primary key.
func KeyNeeded(mode string) bool {
	switch mode {
	case ModeInsert, ModeUpdate, ModeUpsert, ModeMirror:
		return true
	}
	return false
}
