package connector

import "fmt"

// SQLSource is the source block of a SQL database: a query, or a table read
// whole. Connectors embed it (yaml:",inline") to add keys of their own.
type SQLSource struct {
	Query string `yaml:"query" doc:"SQL query; or table"`
	Table string `yaml:"table" doc:"table (schema.table allowed); or query"`
}

// Validate implements SourceConfig.
func (s *SQLSource) Validate(_ Config, p Problems) {
	if (s.Query == "") == (s.Table == "") {
		p.Add("", "set exactly one of query or table")
	}
}

// Identity implements SourceConfig.
func (s *SQLSource) Identity() [][2]string {
	return [][2]string{{"query", s.Query}, {"table", s.Table}}
}

// SQLDest is the destination block of a SQL database.
type SQLDest struct {
	// CreateTable creates a missing table from the mapped schema.
	CreateTable bool `yaml:"create_table" doc:"create the table from the mapped schema when missing"`
}

// Validate implements DestConfig.
func (*SQLDest) Validate(Dest, Problems) {}

// As returns a config as the type its connector registered, or an error
// naming both: a connector handed another's config is a programming error,
// reported rather than panicking mid-run.
func As[T any](v any) (T, error) {
	t, ok := v.(T)
	if !ok {
		var zero T
		return zero, fmt.Errorf("config is %T, want %T", v, zero)
	}
	return t, nil
}

// CreatesTable reports create_table (a connector embedding SQLDest has it too).
func (d *SQLDest) CreatesTable() bool { return d.CreateTable }
