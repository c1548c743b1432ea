package load

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/hoist-dev/hoist/internal/mysqlconn"
)

// myColumn is one column of the destination table.
type myColumn struct {
	name       string
	dataType   string // information_schema DATA_TYPE, lower case: "int", "varchar"
	columnType string // COLUMN_TYPE, for messages: "int(10) unsigned"
	charset    string // text columns only
	collation  string
	generated  bool
}

// myTableColumns reads the destination's columns, or nil when the table
// does not exist. The names are bound parameters, never spliced into SQL.
func myTableColumns(ctx context.Context, db *sql.DB, table string) (map[string]myColumn, error) {
	schema, name := myTableArgs(table)
	rows, err := db.QueryContext(ctx, `SELECT COLUMN_NAME, LOWER(DATA_TYPE), LOWER(COLUMN_TYPE),
		COALESCE(CHARACTER_SET_NAME, ''), COALESCE(COLLATION_NAME, ''), LOWER(EXTRA)
		FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ?
		ORDER BY ORDINAL_POSITION`, schema, name)
	if err != nil {
		return nil, fmt.Errorf("read columns: %w", err)
	}
	defer rows.Close()
	var out map[string]myColumn
	for rows.Next() {
		var c myColumn
		var extra string
		if err := rows.Scan(&c.name, &c.dataType, &c.columnType, &c.charset, &c.collation, &extra); err != nil {
			return nil, fmt.Errorf("read columns: %w", err)
		}
		c.generated = strings.Contains(extra, "generated")
		if out == nil {
			out = map[string]myColumn{}
		}
		out[c.name] = c
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read columns: %w", err)
	}
	return out, nil
}

// myTableArgs are the information_schema arguments of a table name: its
// database (NULL: the connection's) and name.
func myTableArgs(table string) (sql.NullString, string) {
	db, name := mysqlconn.Table(table)
	return sql.NullString{String: db, Valid: db != ""}, name
}

// myHasUniqueKey reports whether a unique index or the primary key covers
// exactly the key columns, which ON DUPLICATE KEY UPDATE needs to match
// rows by key.
func myHasUniqueKey(ctx context.Context, db *sql.DB, table string, key []string) (bool, error) {
	schema, name := myTableArgs(table)
	rows, err := db.QueryContext(ctx, `SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS
		WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? AND NON_UNIQUE = 0
		ORDER BY INDEX_NAME, SEQ_IN_INDEX`, schema, name)
	if err != nil {
		return false, fmt.Errorf("read indexes: %w", err)
	}
	defer rows.Close()
	indexes := map[string][]string{}
	for rows.Next() {
		var idx, col string
		if err := rows.Scan(&idx, &col); err != nil {
			return false, fmt.Errorf("read indexes: %w", err)
		}
		indexes[idx] = append(indexes[idx], col)
	}
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("read indexes: %w", err)
	}
	want := slices.Clone(key)
	slices.Sort(want)
	for _, cols := range indexes {
		slices.Sort(cols)
		if slices.Equal(cols, want) {
			return true, nil
		}
	}
	return false, nil
}

// myDirectLoad reports whether batches may be loaded straight into the
// table (see myWriter.writeDirect): only a transactional table can take
// back a load that drew warnings, and LOAD DATA reads some column types'
// text otherwise than INSERT reads a number, without a warning: a BIT
// takes "1" as the byte 0x31, a YEAR takes "0" as 2000 (the number 0 is
// the year 0000).
func myDirectLoad(ctx context.Context, db *sql.DB, table string, s *arrow.Schema, cols map[string]myColumn) (bool, error) {
	for _, f := range s.Fields() {
		if t := cols[f.Name].dataType; t == "bit" || t == "year" {
			return false, nil
		}
	}
	schema, name := myTableArgs(table)
	var engine sql.NullString
	err := db.QueryRowContext(ctx, `SELECT ENGINE FROM information_schema.TABLES
		WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ?`, schema, name).Scan(&engine)
	if err != nil {
		return false, fmt.Errorf("read table engine: %w", err)
	}
	return strings.EqualFold(engine.String, "InnoDB"), nil
}

// myCreateTableSQL builds CREATE TABLE IF NOT EXISTS from the mapped Arrow
// schema. Text columns compare byte for byte (utf8mb4_bin): the source's
// keys "a" and "A" are two rows, as hoist's diff sees them.
func myCreateTableSQL(table string, s *arrow.Schema, key []string) (string, error) {
	var b strings.Builder
	b.WriteString("CREATE TABLE IF NOT EXISTS " + mysqlconn.Ident(table) + " (")
	var errs []error
	for i, f := range s.Fields() {
		isKey := slices.Contains(key, f.Name)
		typ, err := myColumnType(f, isKey)
		if err != nil {
			errs = append(errs, fmt.Errorf("column %q: %w", f.Name, err))
			continue
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(mysqlconn.Col(f.Name) + " " + typ)
		if isKey {
			b.WriteString(" NOT NULL")
		} else {
			b.WriteString(" NULL")
		}
	}
	if len(key) > 0 {
		b.WriteString(", PRIMARY KEY (" + myColList(key) + ")")
	}
	b.WriteString(") DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin")
	return b.String(), errors.Join(errs...)
}

// myColumnType is the column type create_table gives a mapped field: the
// one the source tagged it with (a MySQL or Postgres JSON, a wide decimal
// read as text), else the one for its Arrow type. A key column needs an
// indexable type, so its text is VARCHAR(255) rather than LONGTEXT.
func myColumnType(f arrow.Field, isKey bool) (string, error) {
	if err := untypedColumn(f); err != nil {
		return "", err
	}
	if typ, ok := mySourceType(f); ok {
		return typ, nil
	}
	return myTypeFor(f.Type, isKey)
}

func myTypeFor(dt arrow.DataType, isKey bool) (string, error) {
	switch t := dt.(type) {
	case *arrow.Decimal128Type:
		return myDecimal(int(t.Precision), int(t.Scale))
	case *arrow.Decimal256Type:
		return myDecimal(int(t.Precision), int(t.Scale))
	case *arrow.FixedSizeBinaryType:
		if t.ByteWidth <= 255 {
			return fmt.Sprintf("BINARY(%d)", t.ByteWidth), nil
		}
		return "LONGBLOB", nil
	case arrow.ExtensionType:
		if t.ExtensionName() == "arrow.json" {
			return "JSON", nil
		}
		return myTypeFor(t.StorageType(), isKey)
	}
	switch dt.ID() {
	case arrow.BOOL:
		return "BOOLEAN", nil
	case arrow.INT8:
		return "TINYINT", nil
	case arrow.INT16:
		return "SMALLINT", nil
	case arrow.INT32:
		return "INT", nil
	case arrow.INT64:
		return "BIGINT", nil
	case arrow.UINT8:
		return "TINYINT UNSIGNED", nil
	case arrow.UINT16:
		return "SMALLINT UNSIGNED", nil
	case arrow.UINT32:
		return "INT UNSIGNED", nil
	case arrow.UINT64:
		return "BIGINT UNSIGNED", nil
	case arrow.FLOAT32:
		return "FLOAT", nil
	case arrow.FLOAT64:
		return "DOUBLE", nil
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW:
		if isKey {
			return "VARCHAR(255)", nil
		}
		return "LONGTEXT", nil
	case arrow.BINARY, arrow.LARGE_BINARY, arrow.BINARY_VIEW:
		if isKey {
			return "VARBINARY(255)", nil
		}
		return "LONGBLOB", nil
	case arrow.DATE32, arrow.DATE64:
		return "DATE", nil
	case arrow.TIMESTAMP:
		// DATETIME, not TIMESTAMP: it holds years 1000-9999, not 1970-2038,
		// and hoist writes every time in UTC
		return "DATETIME(6)", nil
	case arrow.TIME32, arrow.TIME64:
		return "TIME(6)", nil
	}
	return "", fmt.Errorf("no mysql column type for arrow %s", dt)
}

func myDecimal(p, s int) (string, error) {
	if p < 1 || p > 65 || s < 0 || s > 30 || s > p {
		return "", fmt.Errorf("no mysql column type for decimal(%d,%d) (DECIMAL holds up to 65 digits, 30 after the point)", p, s)
	}
	return fmt.Sprintf("DECIMAL(%d,%d)", p, s), nil
}

var sourceDecimal = regexp.MustCompile(`^(?:decimal|numeric)\((\d{1,4}),(\d{1,4})\)$`)

// mySourceType returns the column type a text field's source tagged it
// with (Arrow field metadata), from an allowlist: metadata is never
// spliced into SQL as it stands.
func mySourceType(f arrow.Field) (string, bool) {
	if f.Type.ID() != arrow.STRING {
		return "", false
	}
	for _, key := range []string{"hoist.mysql_type", "hoist.pg_type"} {
		i := f.Metadata.FindKey(key)
		if i < 0 {
			continue
		}
		switch v := f.Metadata.Values()[i]; v {
		case "json", "jsonb":
			return "JSON", true
		case "uuid":
			return "CHAR(36)", true
		default:
			if m := sourceDecimal.FindStringSubmatch(v); m != nil {
				var p, s int
				fmt.Sscan(m[1], &p)
				fmt.Sscan(m[2], &s)
				if typ, err := myDecimal(p, s); err == nil {
					return typ, true
				}
			}
		}
	}
	return "", false
}

// myBaseType is the DATA_TYPE of a column type create_table writes.
func myBaseType(typ string) string {
	t := strings.ToLower(typ)
	if i := strings.IndexAny(t, "( "); i >= 0 {
		t = t[:i]
	}
	if t == "boolean" {
		return "tinyint"
	}
	return t
}

// column type families, by information_schema DATA_TYPE
var (
	myIntTypes     = []string{"tinyint", "smallint", "mediumint", "int", "bigint", "bit", "year"}
	myFloatTypes   = []string{"float", "double"}
	myTextTypes    = []string{"char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set", "json", "uuid", "inet4", "inet6"}
	myBinaryTypes  = []string{"binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"}
	myDateTimeType = []string{"datetime", "timestamp"}
)

// myFits checks that an Arrow field can be written into its column: the
// server converts each staged value, so this only refuses pairs that make
// no sense (text into a number, a time into a date column).
func myFits(f arrow.Field, c myColumn) error {
	if c.generated {
		return fmt.Errorf("column %q is generated: it cannot be written", f.Name)
	}
	dt := f.Type
	if ext, ok := dt.(arrow.ExtensionType); ok {
		dt = ext.StorageType()
	}
	id := dt.ID()
	isInt := slices.Contains([]arrow.Type{arrow.BOOL, arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64}, id)
	isDec := id == arrow.DECIMAL128 || id == arrow.DECIMAL256
	isFloat := id == arrow.FLOAT32 || id == arrow.FLOAT64
	isText := id == arrow.STRING || id == arrow.LARGE_STRING || id == arrow.STRING_VIEW
	isBin := id == arrow.BINARY || id == arrow.LARGE_BINARY || id == arrow.BINARY_VIEW || id == arrow.FIXED_SIZE_BINARY
	isDate := id == arrow.DATE32 || id == arrow.DATE64
	ok := id == arrow.NULL
	switch t := c.dataType; {
	case slices.Contains(myIntTypes, t):
		ok = ok || isInt || isDec
	case t == "decimal":
		ok = ok || isInt || isDec || isText
	case slices.Contains(myFloatTypes, t):
		ok = ok || isInt || isDec || isFloat
	case t == "date":
		ok = ok || isDate || id == arrow.TIMESTAMP
	case slices.Contains(myDateTimeType, t):
		ok = ok || isDate || id == arrow.TIMESTAMP
	case t == "time":
		ok = ok || id == arrow.TIME32 || id == arrow.TIME64
	case slices.Contains(myTextTypes, t):
		ok = ok || isText
	case slices.Contains(myBinaryTypes, t):
		ok = ok || isText || isBin
	default:
		ok = false
	}
	if !ok {
		return fmt.Errorf("column %q: cannot write arrow %s into mysql %s", f.Name, f.Type, c.columnType)
	}
	return nil
}

var safeName = regexp.MustCompile(`^[a-z0-9_]+$`)

// myStageType is the staging column type of a field bound for column c: wide
// enough to hold every value of the Arrow type exactly, since LOAD DATA
// LOCAL would clip a value that does not fit with only a warning. Text
// takes the column's character set and collation, so the apply statement
// converts nothing and a key compares as the table's index does.
func myStageType(dt arrow.DataType, c myColumn) string {
	if ext, ok := dt.(arrow.ExtensionType); ok {
		dt = ext.StorageType()
	}
	switch t := dt.(type) {
	case *arrow.Decimal128Type:
		if typ, err := myDecimal(int(t.Precision), int(t.Scale)); err == nil {
			return typ
		}
		return "LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
	case *arrow.Decimal256Type:
		if typ, err := myDecimal(int(t.Precision), int(t.Scale)); err == nil {
			return typ
		}
		return "LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
	}
	switch dt.ID() {
	case arrow.BOOL, arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64:
		return "BIGINT"
	case arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return "BIGINT UNSIGNED"
	case arrow.FLOAT32, arrow.FLOAT64:
		return "DOUBLE"
	case arrow.BINARY, arrow.LARGE_BINARY, arrow.BINARY_VIEW, arrow.FIXED_SIZE_BINARY:
		return "LONGBLOB"
	case arrow.DATE32, arrow.DATE64:
		return "DATE"
	case arrow.TIMESTAMP:
		return "DATETIME(6)"
	case arrow.TIME32, arrow.TIME64:
		return "TIME(6)"
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW:
		if slices.Contains(myBinaryTypes, c.dataType) {
			return "LONGBLOB"
		}
	}
	if safeName.MatchString(c.charset) && safeName.MatchString(c.collation) {
		return "LONGTEXT CHARACTER SET " + c.charset + " COLLATE " + c.collation
	}
	return "LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
}

func myColList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = mysqlconn.Col(n)
	}
	return strings.Join(q, ", ")
}
