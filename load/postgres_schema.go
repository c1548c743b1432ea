package load

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/jackc/pgx/v5"

	"github.com/hoist-dev/hoist/internal/pgconn"
	"github.com/hoist-dev/hoist/internal/pgwire"
)

// pgColumn is one column of the destination table.
type pgColumn struct {
	name    string
	oid     uint32
	typ     string // format_type, for messages
	notNull bool
}

// queryer is what introspection needs (a pool, a conn or a tx).
type queryer interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// tableColumns reads the destination's columns. The table name is bound as
// a regclass parameter, never spliced into SQL.
func tableColumns(ctx context.Context, q queryer, table string) (map[string]pgColumn, error) {
	rows, err := q.Query(ctx, `SELECT a.attname::text, a.atttypid, format_type(a.atttypid, a.atttypmod), a.attnotnull
		FROM pg_attribute a WHERE a.attrelid = $1::text::regclass AND a.attnum > 0 AND NOT a.attisdropped`,
		pgconn.Ident(table))
	if err != nil {
		return nil, err
	}
	cols, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (pgColumn, error) {
		var c pgColumn
		err := r.Scan(&c.name, &c.oid, &c.typ, &c.notNull)
		return c, err
	})
	if err != nil {
		return nil, err
	}
	out := make(map[string]pgColumn, len(cols))
	for _, c := range cols {
		out[c.name] = c
	}
	return out, nil
}

// tableExists reports whether table resolves (to_regclass returns NULL
// instead of failing for a missing table).
func tableExists(ctx context.Context, q queryer, table string) (bool, error) {
	var ok bool
	err := q.QueryRow(ctx, "SELECT to_regclass($1::text) IS NOT NULL", pgconn.Ident(table)).Scan(&ok)
	return ok, err
}

// hasUniqueKey reports whether a unique index or constraint covers exactly
// the key columns, which ON CONFLICT (key) needs.
func hasUniqueKey(ctx context.Context, q queryer, table string, key []string) (bool, error) {
	sorted := slices.Clone(key)
	slices.Sort(sorted)
	var ok bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = $1::text::regclass AND i.indisunique
		AND i.indpred IS NULL AND (SELECT array_agg(a.attname::text ORDER BY a.attname::text) FROM pg_attribute a
		WHERE a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)) = $2::text[] AND i.indnkeyatts = $3)`,
		pgconn.Ident(table), sorted, len(sorted)).Scan(&ok)
	return ok, err
}

// createTableSQL builds CREATE TABLE IF NOT EXISTS from the mapped Arrow schema.
func createTableSQL(table string, s *arrow.Schema, key []string) (string, error) {
	var b strings.Builder
	b.WriteString("CREATE TABLE IF NOT EXISTS " + pgconn.Ident(table) + " (")
	var errs []error
	for i, f := range s.Fields() {
		typ, err := columnType(f)
		if err != nil {
			errs = append(errs, fmt.Errorf("column %q: %w", f.Name, err))
			continue
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(pgconn.Col(f.Name) + " " + typ)
		if slices.Contains(key, f.Name) {
			b.WriteString(" NOT NULL")
		}
	}
	if len(key) > 0 {
		b.WriteString(", PRIMARY KEY (" + colList(key) + ")")
	}
	b.WriteString(")")
	return b.String(), errors.Join(errs...)
}

// columnType is the column type create_table gives a mapped field: the
// Postgres type it was read from when the source tagged it, else the one for
// its Arrow type.
func columnType(f arrow.Field) (string, error) {
	if err := untypedColumn(f); err != nil {
		return "", err
	}
	if src, ok := sourcePGType(f); ok {
		return src, nil
	}
	return pgTypeFor(f.Type)
}

// pgTypeFor is the column type create_table gives an Arrow type.
func pgTypeFor(dt arrow.DataType) (string, error) {
	switch t := dt.(type) {
	case *arrow.Decimal128Type:
		return fmt.Sprintf("numeric(%d,%d)", t.Precision, t.Scale), nil
	case *arrow.Decimal256Type:
		return fmt.Sprintf("numeric(%d,%d)", t.Precision, t.Scale), nil
	case *arrow.TimestampType:
		if t.TimeZone != "" {
			return "timestamptz", nil
		}
		return "timestamp", nil
	case *arrow.ListType:
		e, err := pgTypeFor(t.Elem())
		return e + "[]", err
	case *arrow.LargeListType:
		e, err := pgTypeFor(t.Elem())
		return e + "[]", err
	case arrow.ExtensionType:
		switch t.ExtensionName() {
		case "arrow.json":
			return "jsonb", nil
		case "arrow.uuid":
			return "uuid", nil
		}
		return pgTypeFor(t.StorageType())
	}
	switch dt.ID() {
	case arrow.BOOL:
		return "boolean", nil
	case arrow.INT8, arrow.INT16, arrow.UINT8:
		return "smallint", nil
	case arrow.INT32, arrow.UINT16:
		return "integer", nil
	case arrow.INT64, arrow.UINT32:
		return "bigint", nil
	case arrow.UINT64:
		return "numeric(20,0)", nil
	case arrow.FLOAT32:
		return "real", nil
	case arrow.FLOAT64:
		return "double precision", nil
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW:
		return "text", nil
	case arrow.BINARY, arrow.LARGE_BINARY, arrow.BINARY_VIEW, arrow.FIXED_SIZE_BINARY:
		return "bytea", nil
	case arrow.DATE32, arrow.DATE64:
		return "date", nil
	}
	return "", fmt.Errorf("no postgres column type for arrow %s", dt)
}

// encoderFor checks that an Arrow field fits its destination column.
func encoderFor(f arrow.Field, c pgColumn) (pgwire.Encoder, error) {
	enc, err := pgwire.NewEncoder(f.Type, c.oid)
	if err != nil {
		return nil, fmt.Errorf("column %q: cannot write arrow %s into postgres %s", f.Name, f.Type, c.typ)
	}
	return enc, nil
}

func colList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = pgconn.Col(n)
	}
	return strings.Join(q, ", ")
}

// sourcePGType returns the Postgres type a text column came from (Arrow field
// metadata "hoist.pg_type", set by the postgres source), from an allowlist:
// metadata is never spliced into SQL as it stands.
func sourcePGType(f arrow.Field) (string, bool) {
	i := f.Metadata.FindKey("hoist.pg_type")
	if i < 0 || f.Type.ID() != arrow.STRING {
		return "", false
	}
	switch v := f.Metadata.Values()[i]; v {
	case "json", "jsonb", "uuid", "numeric":
		return v, true
	default:
		// numeric(p,s) with p past decimal128's 38 digits, read as text
		var p, s int
		if n, _ := fmt.Sscanf(v, "numeric(%d,%d)", &p, &s); n == 2 && fmt.Sprintf("numeric(%d,%d)", p, s) == v && p >= 1 && p <= 1000 && s >= 0 && s <= p {
			return v, true
		}
	}
	return "", false
}
