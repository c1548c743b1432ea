package spec

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// connKeys lists the keys each connection type accepts, besides type.
var connKeys = map[string][]string{
	TypePostgres:  {"url", "statement_timeout"},
	TypeSnowflake: {"dsn", "account", "user", "password", "database", "schema", "warehouse", "role", "private_key_path", "download_concurrency", "login_timeout"},
	TypeSQLite:    {"path"},
	TypeFiles:     {"path", "format", "compression"},
	TypeHTTP:      {"base_url", "headers", "rate_limit", "timeout", "max_retries", "max_concurrency"},
}

// Formats a files connection reads and writes.
var Formats = []string{"parquet", "csv", "jsonl"}

var modes = []string{ModeInsert, ModeUpdate, ModeUpsert, ModeMirror, ModeAppend, ModeReplace}

// Validate checks references, modes and types, returning every problem joined.
func (f *File) Validate() error {
	var probs []error
	bad := func(field, format string, args ...any) {
		if !f.skipped(field) {
			probs = append(probs, f.Problem(field, format, args...))
		}
	}
	if f.Version != 1 {
		bad("version", "version must be 1 (got %d)", f.Version)
	}
	if !strings.HasPrefix(f.State, "file://") && !strings.HasPrefix(f.State, "postgres://") && !strings.HasPrefix(f.State, "postgresql://") {
		bad("state", "state must be file://PATH or postgres://URL")
	}
	names := make([]string, 0, len(f.Connections))
	for n := range f.Connections {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if c := f.Connections[n]; c != nil {
			f.validateConnection(c, bad)
		}
	}
	if len(f.Syncs) == 0 {
		bad("syncs", "no syncs defined")
	}
	seen := map[string]bool{}
	for _, s := range f.Syncs {
		if s == nil {
			continue
		}
		p := fmt.Sprintf("syncs[%d]", s.Index)
		if s.Name == "" {
			bad(p+".name", "name is required")
		} else if seen[s.Name] {
			bad(p+".name", "duplicate sync name %q", s.Name)
		}
		seen[s.Name] = true
		f.validateSync(s, p, bad)
	}
	f.Warnings = f.sharedObjects()
	return errors.Join(probs...)
}

func (f *File) validateConnection(c *Connection, bad func(string, string, ...any)) {
	p := "connections." + c.Name
	allowed, ok := connKeys[c.Type]
	if !ok {
		bad(p+".type", "unknown connection type %q (want postgres, snowflake, sqlite, files or http)", c.Type)
		return
	}
	for key := range yamlFields(typeOfConnection) {
		if key == "type" || !f.has(p+"."+key) {
			continue
		}
		if !contains(allowed, key) {
			bad(p+"."+key, "key %q does not apply to a %s connection", key, c.Type)
		}
	}
	switch c.Type {
	case TypePostgres:
		if c.URL == "" {
			bad(p+".url", "url is required")
		} else if u := c.URL.Reveal(); !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
			bad(p+".url", "url must start with postgres://")
		}
	case TypeSnowflake:
		if c.DSN == "" && (c.Account == "" || c.User == "") {
			bad(p, "snowflake needs dsn, or account and user")
		}
		if c.DSN == "" && c.Password == "" && c.PrivateKeyPath == "" {
			bad(p, "snowflake needs password or private_key_path (or a dsn)")
		}
		if c.DownloadConcurrency < 0 {
			bad(p+".download_concurrency", "must be positive")
		} else if c.DownloadConcurrency > MaxConcurrency {
			bad(p+".download_concurrency", "must be at most %d (got %d)", MaxConcurrency, c.DownloadConcurrency)
		}
	case TypeSQLite:
		if c.Path == "" {
			bad(p+".path", "path is required")
		}
	case TypeFiles:
		if c.Path == "" {
			bad(p+".path", "path is required")
		}
		if c.Format != "" && !contains(Formats, c.Format) {
			bad(p+".format", "unknown format %q (want parquet, csv or jsonl)", c.Format)
		}
		if c.Compression != "" && !contains([]string{"snappy", "zstd", "gzip", "none"}, c.Compression) {
			bad(p+".compression", "unknown compression %q (want snappy, zstd, gzip or none)", c.Compression)
		}
	case TypeHTTP:
		if c.BaseURL == "" {
			bad(p+".base_url", "base_url is required")
		} else if !strings.HasPrefix(c.BaseURL, "http://") && !strings.HasPrefix(c.BaseURL, "https://") {
			bad(p+".base_url", "base_url must start with http:// or https://")
		}
		if c.RateLimit != nil && c.RateLimit.RequestsPerSecond <= 0 {
			bad(p+".rate_limit.requests_per_second", "must be greater than 0")
		}
		if c.MaxRetries != nil && *c.MaxRetries < 0 {
			bad(p+".max_retries", "must not be negative")
		}
		if c.MaxConcurrency < 0 || c.MaxConcurrency > MaxConcurrency {
			bad(p+".max_concurrency", "must be between 0 (no cap) and %d (got %d)", MaxConcurrency, c.MaxConcurrency)
		}
	}
}

var typeOfConnection = reflectTypeOf(Connection{})

func (f *File) validateSync(s *Sync, p string, bad func(string, string, ...any)) {
	src, dst := s.Source, s.Destination
	sc, scDefined := f.Connections[src.Connection]
	switch {
	case src.Connection == "":
		bad(p+".source.connection", "connection is required")
	case scDefined && sc == nil:
		// reported where the connection is defined
	case sc == nil:
		bad(p+".source.connection", "unknown connection %q%s", src.Connection, f.knownConnections())
	default:
		switch sc.Type {
		case TypeFiles:
			if src.Query != "" || src.Table != "" {
				bad(p+".source", "a files source reads path, not query or table")
			}
			if src.Format != "" && !contains(Formats, src.Format) {
				bad(p+".source.format", "unknown format %q (want parquet, csv or jsonl)", src.Format)
			}
			if src.Format == "" && sc.Format == "" {
				bad(p+".source.format", "format is required (on the source or its files connection)")
			}
		case TypeHTTP:
			if src.Endpoint == "" && src.Path == "" {
				bad(p+".source.endpoint", "endpoint is required for an http source")
			}
			if pg := src.Pagination; pg != nil && pg.MaxPages < 0 {
				bad(p+".source.pagination.max_pages", "max_pages must be positive (got %d)", pg.MaxPages)
			}
		default:
			if (src.Query == "") == (src.Table == "") {
				bad(p+".source", "set exactly one of query or table")
			}
		}
	}
	dc, dcDefined := f.Connections[dst.Connection]
	switch {
	case dst.Connection == "":
		bad(p+".destination.connection", "connection is required")
	case dcDefined && dc == nil:
		// reported where the connection is defined
	case dc == nil:
		bad(p+".destination.connection", "unknown connection %q%s", dst.Connection, f.knownConnections())
	case dc.Type == TypeSnowflake:
		bad(p+".destination.connection", "a snowflake connection can only be a source")
	case dc.Type == TypeFiles:
		if dst.Format != "" && !contains(Formats, dst.Format) {
			bad(p+".destination.format", "unknown format %q (want parquet, csv or jsonl)", dst.Format)
		}
		if dst.Format == "" && dc.Format == "" && !strings.Contains(dst.Object, ".") {
			bad(p+".destination.format", "format is required (on the destination, its connection, or as the object's extension)")
		}
		if dst.Object != "" && !filepath.IsLocal(dst.Object) {
			bad(p+".destination.object", "object %q must be a file name inside the connection's folder (no .. or absolute path)", dst.Object)
		}
	case dc.Type == TypeHTTP:
		validateHTTPDest(&dst, p+".destination", bad)
	}
	if dst.Object == "" && dc != nil && dc.Type != TypeHTTP {
		bad(p+".destination.object", "object is required")
	}
	switch {
	case dst.Mode == "":
		bad(p+".destination.mode", "mode is required (%s)", strings.Join(modes, ", "))
	case !contains(modes, dst.Mode):
		bad(p+".destination.mode", "unknown mode %q (want %s)", dst.Mode, strings.Join(modes, ", "))
	case KeyNeeded(dst.Mode) && len(dst.PrimaryKey) == 0:
		bad(p+".destination.primary_key", "mode %s needs a primary_key", dst.Mode)
	}
	validatePrimaryKey(dst.PrimaryKey, p+".destination.primary_key", bad)
	if dst.Mode == ModeMirror && src.Cursor != "" {
		bad(p+".source.cursor", "mode mirror cannot use a cursor: it must read the whole source to find deletes")
	}
	if src.CursorLookback != "" {
		switch {
		case src.Cursor == "":
			bad(p+".source.cursor_lookback", "cursor_lookback needs a cursor")
		case dst.Mode == ModeAppend:
			bad(p+".source.cursor_lookback", "mode append sends every row it reads, so a lookback would send the window's rows again: use upsert (the diff drops rows already delivered)")
		default:
			if _, _, err := ParseLookback(src.CursorLookback); err != nil {
				bad(p+".source.cursor_lookback", "%v", err)
			}
		}
	}
	if dst.Mode == ModeReplace && src.Cursor != "" {
		bad(p+".source.cursor", "mode replace cannot use a cursor: it rewrites the whole object, which would then hold only the rows changed since the last run")
	}
	targets := map[string]bool{}
	for i, m := range s.Mappings {
		mp := fmt.Sprintf("%s.mappings[%d]", p, i)
		if m == nil {
			bad(mp, "mapping is empty")
			continue
		}
		if m.To == "" {
			bad(mp+".to", "to is required")
		} else if targets[m.To] {
			bad(mp+".to", "field %q is mapped twice", m.To)
		}
		targets[m.To] = true
		if (m.From == "") == (m.Value == nil) {
			bad(mp, "set exactly one of from or value")
		}
		if m.Type != "" && !ValidCast(m.Type) {
			bad(mp+".type", "unknown type %q (want string, int64, float64, bool, timestamp, date, decimal(p,s) or json)", m.Type)
		}
	}
	if len(s.Mappings) > 0 {
		for i, k := range dst.PrimaryKey {
			if !targets[k] {
				bad(fmt.Sprintf("%s.destination.primary_key[%d]", p, i), "primary key %q is not a mapped field", k)
			}
		}
	}
	if s.BatchSize < 1 {
		bad(p+".batch_size", "must be at least 1")
	}
	if s.Concurrency < 1 {
		bad(p+".concurrency", "must be at least 1")
	} else if s.Concurrency > MaxConcurrency {
		bad(p+".concurrency", "must be at most %d (got %d)", MaxConcurrency, s.Concurrency)
	}
	if s.OnDuplicate != "error" && s.OnDuplicate != "last" {
		bad(p+".on_duplicate", "must be error or last")
	}
	if fr := *s.MaxDeleteFraction; fr < 0 || fr > 1 {
		bad(p+".max_delete_fraction", "must be between 0 and 1")
	}
	if s.OnReject.MaxRejected != nil && *s.OnReject.MaxRejected < 0 {
		bad(p+".on_reject.max_rejected", "must not be negative")
	}
}

func (f *File) has(path string) bool { _, ok := f.pos[path]; return ok }

func (f *File) knownConnections() string {
	if len(f.Connections) == 0 {
		return " (no connections are defined)"
	}
	names := make([]string, 0, len(f.Connections))
	for n := range f.Connections {
		names = append(names, n)
	}
	sort.Strings(names)
	return " (defined: " + strings.Join(names, ", ") + ")"
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// ValidCast reports whether t names a mapping cast.
func ValidCast(t string) bool {
	switch t {
	case "string", "int64", "float64", "bool", "timestamp", "date", "json":
		return true
	}
	var p, s int
	n, _ := fmt.Sscanf(t, "decimal(%d,%d)", &p, &s)
	return n == 2 && p >= 1 && p <= 38 && s >= 0 && s <= p
}

// SyncByName returns the named sync, or nil.
func (f *File) SyncByName(name string) *Sync {
	for _, s := range f.Syncs {
		if s != nil && s.Name == name {
			return s
		}
	}
	return nil
}

// Field returns the error path prefix of a sync ("syncs[2]").
func (s *Sync) Field() string { return fmt.Sprintf("syncs[%d]", s.Index) }

// ParseLookback reads a cursor_lookback: a duration ("10m", "2h", or days
// as "3d") for timestamp and date cursors, or a non-negative number for
// numeric ones. Exactly one of d and n is meaningful, as isDuration says.
func ParseLookback(v string) (d time.Duration, isDuration bool, err error) {
	if days, ok := strings.CutSuffix(v, "d"); ok {
		if n, err := strconv.ParseFloat(days, 64); err == nil && n >= 0 {
			return time.Duration(n * 24 * float64(time.Hour)), true, nil
		}
	}
	if d, err := time.ParseDuration(v); err == nil {
		if d < 0 {
			return 0, false, fmt.Errorf("cursor_lookback %q is negative", v)
		}
		return d, true, nil
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil && n >= 0 {
		return 0, false, nil
	}
	return 0, false, fmt.Errorf("cursor_lookback %q is neither a duration (10m, 2h, 3d) nor a non-negative number", v)
}
