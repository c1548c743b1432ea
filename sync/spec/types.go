// Package spec defines hoist's declarative sync spec (version 1, see docs/spec.md),
// loads it from YAML with line numbers kept for every field, and validates it.
package spec

import "time"

// Modes a destination can be written in.
const (
	ModeInsert  = "insert"
	ModeUpdate  = "update"
	ModeUpsert  = "upsert"
	ModeMirror  = "mirror"
	ModeAppend  = "append"
	ModeReplace = "replace"
)

// Connection types.
const (
	TypePostgres  = "postgres"
	TypeSnowflake = "snowflake"
	TypeSQLite    = "sqlite"
	TypeFiles     = "files"
	TypeHTTP      = "http"
)

// Defaults applied by Load when a sync leaves a knob unset.
const (
	DefaultBatchSize         = 500
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

	Version     int                    `yaml:"version"`
	State       string                 `yaml:"state"`
	Connections map[string]*Connection `yaml:"connections"`
	Syncs       []*Sync                `yaml:"syncs"`

	// pos maps a field path such as "syncs[1].destination.mode" to its line.
	pos map[string]int
	// skip holds the paths whose value Load could not read (wrong shape,
	// unset ${VAR}): already reported, so Validate does not judge them.
	skip map[string]bool
	// Warnings are doubts that do not make the spec invalid.
	Warnings []*Problem `yaml:"-"`
}

// Connection holds the keys of every connection type; Validate checks that
// only the keys of its own type are set.
type Connection struct {
	Name string `yaml:"-"`
	Type string `yaml:"type"`

	// postgres
	URL              Secret   `yaml:"url"`
	StatementTimeout Duration `yaml:"statement_timeout"`

	// snowflake
	DSN                 Secret   `yaml:"dsn"`
	Account             string   `yaml:"account"`
	User                string   `yaml:"user"`
	Password            Secret   `yaml:"password"`
	Database            string   `yaml:"database"`
	Schema              string   `yaml:"schema"`
	Warehouse           string   `yaml:"warehouse"`
	Role                string   `yaml:"role"`
	PrivateKeyPath      string   `yaml:"private_key_path"`
	DownloadConcurrency int      `yaml:"download_concurrency"`
	LoginTimeout        Duration `yaml:"login_timeout"`

	// sqlite, files
	Path   string `yaml:"path"`
	Format string `yaml:"format"`
	// Compression of Parquet files written: snappy (default), zstd, gzip or none.
	Compression string `yaml:"compression"`

	// http
	BaseURL    string            `yaml:"base_url"`
	Headers    map[string]Secret `yaml:"headers"`
	RateLimit  *RateLimit        `yaml:"rate_limit"`
	Timeout    Duration          `yaml:"timeout"`
	MaxRetries *int              `yaml:"max_retries"`
	// MaxConcurrency caps adaptive concurrency for an http destination.
	MaxConcurrency int `yaml:"max_concurrency"`
}

// RateLimit is a token bucket shared by every loader of a connection.
type RateLimit struct {
	RequestsPerSecond float64 `yaml:"requests_per_second"`
	Burst             int     `yaml:"burst"`
}

// Sync is one source → destination pipeline.
type Sync struct {
	Name        string     `yaml:"name"`
	Source      Source     `yaml:"source"`
	Destination Dest       `yaml:"destination"`
	Mappings    []*Mapping `yaml:"mappings"`
	BatchSize   int        `yaml:"batch_size"`
	Concurrency int        `yaml:"concurrency"`
	OnReject    OnReject   `yaml:"on_reject"`
	// OnDuplicate is "error" (default) or "last": what a duplicate key in the source does.
	OnDuplicate string `yaml:"on_duplicate"`
	// MaxDeleteFraction bounds mirror deletes per run (default 0.5).
	MaxDeleteFraction *float64 `yaml:"max_delete_fraction"`

	// Index is the position in File.Syncs, used for error paths.
	Index int `yaml:"-"`
}

// Source says what to extract.
type Source struct {
	Connection string `yaml:"connection"`
	Query      string `yaml:"query"`
	Table      string `yaml:"table"`
	Path       string `yaml:"path"`
	Cursor     string `yaml:"cursor"`
	// CursorLookback re-reads this window before the committed cursor (a
	// duration for time cursors, a number for numeric ones), so rows that
	// committed late, with a cursor value below one already passed, are
	// still picked up; the diff drops what was already delivered.
	CursorLookback string `yaml:"cursor_lookback"`
	// Format overrides the files connection's format for this source.
	Format string `yaml:"format"`

	// http sources
	Endpoint    string            `yaml:"endpoint"`
	RecordsPath string            `yaml:"records_path"`
	Pagination  *HTTPPagination   `yaml:"pagination"`
	CursorParam string            `yaml:"cursor_param"`
	Params      map[string]string `yaml:"params"`
	Columns     []*Column         `yaml:"columns"`
}

// HTTPPagination describes how an http source walks pages.
type HTTPPagination struct {
	// Type is page, offset, cursor or link.
	Type string `yaml:"type"`
	// Param is the query parameter carrying the page number, offset or cursor.
	Param string `yaml:"param"`
	// SizeParam and PageSize set the page size sent with each request.
	SizeParam string `yaml:"size_param"`
	PageSize  int    `yaml:"page_size"`
	// NextPath is the dotted path of the next-cursor field in the body (type cursor).
	NextPath string `yaml:"next_path"`
	// StartAt is the first page number or offset (default 1 for page, 0 for offset).
	StartAt *int `yaml:"start_at"`
	// MaxPages caps the pages one read fetches (0: the default, 100000); a
	// source with more fails instead of paging on forever.
	MaxPages int `yaml:"max_pages"`
}

// Column declares a source column and its type (http sources).
type Column struct {
	Name string `yaml:"name"`
	Type string `yaml:"type"`
}

// Dest says where to write and how.
type Dest struct {
	Connection  string   `yaml:"connection"`
	Object      string   `yaml:"object"`
	Mode        string   `yaml:"mode"`
	PrimaryKey  []string `yaml:"primary_key"`
	CreateTable bool     `yaml:"create_table"`
	// Format overrides the files connection's format for this destination.
	Format string `yaml:"format"`

	// http destinations: one request template per operation.
	Operations map[string]*HTTPOperation `yaml:"operations"`
}

// HTTPOperation is the request template for one operation (upsert, insert, update, delete).
type HTTPOperation struct {
	Method string `yaml:"method"`
	Path   string `yaml:"path"`
	// Body is a text/template rendered with .Rows (batched) or .Row (per row).
	Body string `yaml:"body"`
	// Batch sends batch_size rows per request; otherwise one request per row.
	Batch bool `yaml:"batch"`
	// ErrorsPath reads per-row errors (by index) from a 2xx response body.
	ErrorsPath string `yaml:"errors_path"`
}

// Mapping maps a source column (From) or a constant (Value) onto a destination field.
type Mapping struct {
	From  string  `yaml:"from"`
	To    string  `yaml:"to"`
	Value *string `yaml:"value"`
	// Type casts the value: string, int64, float64, bool, timestamp, date, decimal(p,s), json.
	Type string `yaml:"type"`
}

// OnReject says where rejected rows go and how many a run tolerates.
type OnReject struct {
	File        string `yaml:"file"`
	MaxRejected *int   `yaml:"max_rejected"`
}

// Duration is a time.Duration written as "30s" or "5m" in YAML.
type Duration time.Duration

// D returns the duration as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// KeyNeeded reports whether mode diffs against a snapshot by primary key.
func KeyNeeded(mode string) bool {
	switch mode {
	case ModeInsert, ModeUpdate, ModeUpsert, ModeMirror:
		return true
	}
	return false
}
