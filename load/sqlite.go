package load

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/internal/sqlitedb"
	"github.com/hoist-dev/hoist/sync/spec"
)

// Opening a sqlite destination creates its file, so plan does not (no PlanCheck).
func init() { Register(sqlitedb.Type, sqlDestRole(false), openSQLite) }

// sqliteDest is an embedded SQLite database file opened for writing.
type sqliteDest struct {
	name string
	path string
	db   *sql.DB
}

var _ Destination = (*sqliteDest)(nil)

func openSQLite(ctx context.Context, conn *spec.Connection, dir string) (Destination, error) {
	cfg, err := connector.As[*sqlitedb.Config](conn.Config)
	if err != nil {
		return nil, err
	}
	path := sqlitedb.Resolve(cfg.Path, dir)
	db, err := sqlitedb.OpenWrite(ctx, path)
	if err != nil {
		return nil, err
	}
	return &sqliteDest{name: conn.Name, path: path, db: db}, nil
}

func (d *sqliteDest) Close() error { return d.db.Close() }

// Open checks (or creates) the table, checks it can take the mapped fields
// and the sync's operations, and for replace begins the transaction that
// empties the table and takes every batch until Commit.
func (d *sqliteDest) Open(ctx context.Context, t Target) (Writer, error) {
	w, err := d.open(ctx, t)
	if err != nil {
		return nil, fmt.Errorf("sqlite %s: %w", d.path, err)
	}
	return w, nil
}

func (d *sqliteDest) open(ctx context.Context, t Target) (Writer, error) {
	if t.Dest == nil || t.Schema == nil {
		return nil, fmt.Errorf("target needs a destination and a schema")
	}
	table, err := sqlitedb.ParseTable(t.Dest.Object)
	if err != nil {
		return nil, fmt.Errorf("object: %w", err)
	}
	for _, f := range t.Schema.Fields() {
		if _, err := sqlitedb.DeclFor(f.Type); err != nil {
			return nil, fmt.Errorf("field %q: %w", f.Name, err)
		}
	}
	cols, err := sqliteTableColumns(ctx, d.db, table)
	if err != nil {
		return nil, err
	}
	if len(cols) == 0 {
		if !createTable(t) {
			return nil, fmt.Errorf("table %s does not exist (create it, or set create_table: true)", table)
		}
		for _, f := range t.Schema.Fields() {
			if err := untypedColumn(f); err != nil {
				return nil, fmt.Errorf("create table %s: field %q: %w", table, f.Name, err)
			}
		}
		if t.DryRun {
			// validate --connect: the table would be created at run time.
			return sqliteDryWriter{}, nil
		}
		if err := sqliteCreateTable(ctx, d.db, table, t); err != nil {
			return nil, err
		}
		if cols, err = sqliteTableColumns(ctx, d.db, table); err != nil {
			return nil, err
		}
	} else if createTable(t) && !t.DryRun {
		// create_table manages the table: a field newly mapped (a column
		// added to the query) becomes a new nullable column.
		if cols, err = sqliteAddColumns(ctx, d.db, table, cols, t); err != nil {
			return nil, err
		}
	}
	if err := sqliteCheckColumns(table, cols, t); err != nil {
		return nil, err
	}
	if sqliteNeedsConflictTarget(t.Dest.Mode) {
		if err := sqliteCheckUniqueKey(ctx, d.db, table, cols, t.Dest.PrimaryKey); err != nil {
			return nil, err
		}
	}
	if t.DryRun {
		return sqliteDryWriter{}, nil
	}
	return newSQLiteWriter(ctx, d.db, table, t)
}

// sqliteNeedsConflictTarget reports whether a mode writes with INSERT … ON CONFLICT
// (pk), which SQLite accepts only against a unique index on exactly pk.
func sqliteNeedsConflictTarget(mode string) bool {
	switch mode {
	case spec.ModeInsert, spec.ModeUpsert, spec.ModeMirror:
		return true
	}
	return false
}

type sqliteColumnInfo struct {
	name string
	decl string
	pk   int // 1-based position in the PRIMARY KEY, 0 if not part of it
}

// sqliteTableColumns lists a table's columns; none means the table does not exist.
func sqliteTableColumns(ctx context.Context, db *sql.DB, t sqlitedb.Table) ([]sqliteColumnInfo, error) {
	rows, err := db.QueryContext(ctx, fmt.Sprintf("PRAGMA %stable_info(%s)", sqliteSchemaPrefix(t), sqlitedb.Quote(t.Name)))
	if err != nil {
		return nil, fmt.Errorf("read columns of %s: %w", t, err)
	}
	defer rows.Close()
	var cols []sqliteColumnInfo
	for rows.Next() {
		var (
			cid, notNull int
			dflt         any
			c            sqliteColumnInfo
		)
		if err := rows.Scan(&cid, &c.name, &c.decl, &notNull, &dflt, &c.pk); err != nil {
			return nil, fmt.Errorf("read columns of %s: %w", t, err)
		}
		cols = append(cols, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read columns of %s: %w", t, err)
	}
	return cols, nil
}

func sqliteSchemaPrefix(t sqlitedb.Table) string {
	if t.Schema == "" {
		return ""
	}
	return sqlitedb.Quote(t.Schema) + "."
}

// sqliteCheckColumns makes sure every mapped field has a column (SQLite column
// names are case-insensitive) and that the key is among the mapped fields.
func sqliteCheckColumns(t sqlitedb.Table, cols []sqliteColumnInfo, tg Target) error {
	have := make(map[string]bool, len(cols))
	for _, c := range cols {
		have[strings.ToLower(c.name)] = true
	}
	var missing []string
	for _, f := range tg.Schema.Fields() {
		if !have[strings.ToLower(f.Name)] {
			missing = append(missing, fmt.Sprintf("%q", f.Name))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("table %s has no column %s (mapped field; add the column or change the mapping)", t, strings.Join(missing, ", "))
	}
	if spec.KeyNeeded(tg.Dest.Mode) && len(tg.Dest.PrimaryKey) == 0 {
		return fmt.Errorf("mode %s needs a primary_key", tg.Dest.Mode)
	}
	for _, k := range tg.Dest.PrimaryKey {
		if _, ok := tg.Schema.FieldsByName(k); !ok {
			return fmt.Errorf("primary key %q is not a mapped field", k)
		}
	}
	return nil
}

// sqliteCheckUniqueKey finds a PRIMARY KEY or a full (non-partial) UNIQUE index on
// exactly the key columns, which ON CONFLICT (pk) needs.
func sqliteCheckUniqueKey(ctx context.Context, db *sql.DB, t sqlitedb.Table, cols []sqliteColumnInfo, pk []string) error {
	want := sqliteLowerSet(pk)
	var tablePK []string
	for _, c := range cols {
		if c.pk > 0 {
			tablePK = append(tablePK, c.name)
		}
	}
	if sqliteSameSet(want, sqliteLowerSet(tablePK)) {
		return nil
	}
	indexes, err := sqliteUniqueIndexes(ctx, db, t)
	if err != nil {
		return err
	}
	for _, idx := range indexes {
		icols, err := sqliteIndexColumns(ctx, db, t, idx)
		if err != nil {
			return err
		}
		if sqliteSameSet(want, sqliteLowerSet(icols)) {
			return nil
		}
	}
	return fmt.Errorf("table %s has no PRIMARY KEY or UNIQUE index on (%s), which insert/upsert need for ON CONFLICT; create one, e.g. CREATE UNIQUE INDEX %s ON %s (%s)",
		t, strings.Join(pk, ", "), sqlitedb.Quote(t.Name+"_"+strings.Join(pk, "_")+"_key"), t.SQL(), sqliteQuoteList(pk))
}

func sqliteUniqueIndexes(ctx context.Context, db *sql.DB, t sqlitedb.Table) ([]string, error) {
	rows, err := db.QueryContext(ctx, fmt.Sprintf("PRAGMA %sindex_list(%s)", sqliteSchemaPrefix(t), sqlitedb.Quote(t.Name)))
	if err != nil {
		return nil, fmt.Errorf("read indexes of %s: %w", t, err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var (
			seq, unique, partial int
			name, origin         string
		)
		if err := rows.Scan(&seq, &name, &unique, &origin, &partial); err != nil {
			return nil, fmt.Errorf("read indexes of %s: %w", t, err)
		}
		if unique == 1 && partial == 0 {
			names = append(names, name)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read indexes of %s: %w", t, err)
	}
	return names, nil
}

func sqliteIndexColumns(ctx context.Context, db *sql.DB, t sqlitedb.Table, index string) ([]string, error) {
	rows, err := db.QueryContext(ctx, fmt.Sprintf("PRAGMA %sindex_info(%s)", sqliteSchemaPrefix(t), sqlitedb.Quote(index)))
	if err != nil {
		return nil, fmt.Errorf("read index %s of %s: %w", index, t, err)
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var (
			seqno, cid int
			name       sql.NullString // NULL for an expression column
		)
		if err := rows.Scan(&seqno, &cid, &name); err != nil {
			return nil, fmt.Errorf("read index %s of %s: %w", index, t, err)
		}
		cols = append(cols, name.String)
	}
	return cols, rows.Err()
}

// sqliteCreateTable creates the table from the mapped schema, with the key as
// PRIMARY KEY so upserts have their conflict target.
func sqliteCreateTable(ctx context.Context, db *sql.DB, t sqlitedb.Table, tg Target) error {
	pk := sqliteLowerSet(tg.Dest.PrimaryKey)
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS %s (", t.SQL())
	for i, f := range tg.Schema.Fields() {
		decl, err := sqlitedb.DeclFor(f.Type)
		if err != nil {
			return fmt.Errorf("field %q: %w", f.Name, err)
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(sqlitedb.Quote(f.Name) + " " + decl)
		if pk[strings.ToLower(f.Name)] {
			b.WriteString(" NOT NULL")
		}
	}
	if len(tg.Dest.PrimaryKey) > 0 {
		fmt.Fprintf(&b, ", PRIMARY KEY (%s)", sqliteQuoteList(tg.Dest.PrimaryKey))
	}
	b.WriteString(")")
	if _, err := db.ExecContext(ctx, b.String()); err != nil {
		return fmt.Errorf("create table %s: %w", t, err)
	}
	return nil
}

// sqliteAddColumns adds a nullable column for every mapped field the table
// lacks and returns the table's columns afterwards.
func sqliteAddColumns(ctx context.Context, db *sql.DB, t sqlitedb.Table, cols []sqliteColumnInfo, tg Target) ([]sqliteColumnInfo, error) {
	have := make(map[string]bool, len(cols))
	for _, c := range cols {
		have[strings.ToLower(c.name)] = true
	}
	added := false
	for _, f := range tg.Schema.Fields() {
		if have[strings.ToLower(f.Name)] {
			continue
		}
		if err := untypedColumn(f); err != nil {
			return nil, fmt.Errorf("add column to %s: field %q: %w", t, f.Name, err)
		}
		decl, err := sqlitedb.DeclFor(f.Type)
		if err != nil {
			return nil, fmt.Errorf("field %q: %w", f.Name, err)
		}
		stmt := fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s %s", t.SQL(), sqlitedb.Quote(f.Name), decl)
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return nil, fmt.Errorf("add column %q to %s: %w", f.Name, t, err)
		}
		tg.Log().Info("added column", "table", t.String(), "column", f.Name, "type", decl)
		added = true
	}
	if !added {
		return cols, nil
	}
	return sqliteTableColumns(ctx, db, t)
}

func sqliteQuoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = sqlitedb.Quote(n)
	}
	return strings.Join(q, ", ")
}

func sqliteLowerSet(names []string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[strings.ToLower(n)] = true
	}
	return m
}

func sqliteSameSet(a, b map[string]bool) bool {
	if len(a) != len(b) || len(a) == 0 {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

// sqliteDryWriter is what validate --connect gets: the checks passed, nothing is
// written.
type sqliteDryWriter struct{}

func (sqliteDryWriter) Write(context.Context, Batch) (Result, error) {
	return Result{}, fmt.Errorf("destination opened for validation only")
}
func (sqliteDryWriter) Commit(context.Context) error { return nil }
func (sqliteDryWriter) Abort(context.Context) error  { return nil }
func (sqliteDryWriter) Concurrency() int             { return 1 }
