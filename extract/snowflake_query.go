package extract

import (
	"database/sql/driver"
	"fmt"
	"regexp"
	"strings"
)

// snowflakeQuery returns the statement for req and its bound parameters.
// With a cursor it wraps the query as
//
//	SELECT * FROM (<query>) WHERE "COL" > ? ORDER BY "COL"
//
// binding the last cursor value, so the warehouse skips old rows.
func snowflakeQuery(req *Request) (string, []driver.NamedValue, error) {
	src := req.Source
	sq, err := sqlSource(*req)
	if err != nil {
		return "", nil, err
	}
	var q string
	switch {
	case strings.TrimSpace(sq.Query) != "":
		q = strings.TrimRight(strings.TrimSpace(sq.Query), "; \t\n")
	case sq.Table != "":
		q = "SELECT * FROM " + sq.Table
	default:
		return "", nil, fmt.Errorf("snowflake source needs query or table")
	}
	if req.After == nil || src.Cursor == "" {
		return q, nil, nil
	}
	v, err := req.After.Param()
	if err != nil {
		return "", nil, fmt.Errorf("cursor %s: %w", src.Cursor, err)
	}
	col := snowflakeIdent(src.Cursor)
	q = fmt.Sprintf("SELECT * FROM (%s) WHERE %s > ? ORDER BY %s", q, col, col)
	return q, []driver.NamedValue{{Ordinal: 1, Value: v}}, nil
}

var plainLowerIdent = regexp.MustCompile(`^[a-z_][a-z0-9_$]*$`)

// snowflakeIdent quotes a column name as hoist shows it. Snowflake stores
// unquoted names upper-cased and hoist shows those lower-cased (see
// snowflakeColumnName), so a plain lower-case name refers to its upper-case
// column; any other name is quoted exactly as written.
func snowflakeIdent(name string) string {
	if plainLowerIdent.MatchString(name) {
		name = strings.ToUpper(name)
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// snowflakeColumnName is the name hoist gives a result column: names
// Snowflake upper-cased (no lower-case letter) are lower-cased, so specs say
// `cursor: updated_at` and `from: email` as they would for Postgres; quoted
// mixed- or lower-case names are kept as they are.
func snowflakeColumnName(name string) string {
	if strings.ToUpper(name) == name && strings.ToLower(name) != name {
		return strings.ToLower(name)
	}
	return name
}
