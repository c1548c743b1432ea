package sqlitedb

import (
	"fmt"
	"strings"
)

// Quote quotes one identifier for SQL text ("a""b" for a"b), so column names
// holding dots, spaces or keywords (properties.full_name, order) are safe.
func Quote(ident string) string {
	return `"` + strings.ReplaceAll(ident, `"`, `""`) + `"`
}

// Table is a table name, optionally inside an attached schema ("main",
// "temp" or an ATTACH alias).
type Table struct {
	Schema string
	Name   string
}

// ParseTable splits "schema.table" on its first dot; a name without a dot is
// a table of the main database.
func ParseTable(s string) (Table, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Table{}, fmt.Errorf("empty table name")
	}
	if schema, name, ok := strings.Cut(s, "."); ok {
		if schema == "" || name == "" {
			return Table{}, fmt.Errorf("bad table name %q (want table or schema.table)", s)
		}
		return Table{Schema: schema, Name: name}, nil
	}
	return Table{Name: s}, nil
}

// SQL returns the quoted, qualified name for SQL text.
func (t Table) SQL() string {
	if t.Schema == "" {
		return Quote(t.Name)
	}
	return Quote(t.Schema) + "." + Quote(t.Name)
}

// String returns the name as the user wrote it, for messages.
func (t Table) String() string {
	if t.Schema == "" {
		return t.Name
	}
	return t.Schema + "." + t.Name
}
