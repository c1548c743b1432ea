package load

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/internal/mysqlconn"
	"github.com/hoist-dev/hoist/sync/spec"
)

func init() { Register(mysqlconn.Type, sqlDestRole(false), openMySQL) }

// MySQLDestConfig is what a sync's destination block says to a mysql
// destination.
type MySQLDestConfig struct {
	Object      string   `yaml:"object"`
	Mode        string   `yaml:"mode"`
	PrimaryKey  []string `yaml:"primary_key"`
	CreateTable bool     `yaml:"create_table"`
}

// mysqlDestOf reads the sync's destination keys: the one place the mysql
// destination reads spec.Dest.
func mysqlDestOf(t Target) MySQLDestConfig {
	d := t.Dest
	return MySQLDestConfig{Object: d.Object, Mode: d.Mode, PrimaryKey: d.PrimaryKey, CreateTable: createTable(t)}
}

// mysqlConnOf reads the connection's keys: the one place the mysql
// destination reads spec.Connection.
func mysqlConnOf(conn *spec.Connection) (*mysqlconn.Config, error) {
	return connector.As[*mysqlconn.Config](conn.Config)
}

// mysqlDest writes tables of one MySQL or MariaDB database.
//
// Each batch is streamed with LOAD DATA LOCAL INFILE into a session
// TEMPORARY staging table and applied to the table by one statement in a
// transaction of its own, so a batch is either wholly applied or not at
// all. LOAD DATA LOCAL turns bad values into warnings whatever the
// sql_mode, so the staging columns are wide enough to hold every value of
// their Arrow type exactly; the apply statement, under a strict sql_mode,
// is what converts them to the table's types and fails on a value that
// does not fit. replace fills a new table and swaps it in at Commit.
type mysqlDest struct {
	db   *sql.DB
	name string
}

var _ Destination = (*mysqlDest)(nil)

func openMySQL(ctx context.Context, conn *spec.Connection, _ string) (Destination, error) {
	cfg, err := mysqlConnOf(conn)
	if err != nil {
		return nil, err
	}
	db, err := cfg.Connect(ctx, mysqlconn.Options{Strict: true})
	if err != nil {
		return nil, err
	}
	return &mysqlDest{db: db, name: conn.Name}, nil
}

// NewMySQLDestination wraps an existing pool (tests, the benchmark
// driver); it should be opened with mysqlconn.Options{Strict: true}.
func NewMySQLDestination(db *sql.DB) Destination {
	return &mysqlDest{db: db, name: "mysql"}
}

func (d *mysqlDest) Close() error { return d.db.Close() }

func (d *mysqlDest) Open(ctx context.Context, t Target) (Writer, error) {
	cfg := mysqlDestOf(t)
	w, err := d.open(ctx, t, cfg)
	if err != nil {
		return nil, fmt.Errorf("sync %s: open mysql table %s: %w", t.Sync, cfg.Object, err)
	}
	return w, nil
}

func (d *mysqlDest) open(ctx context.Context, t Target, cfg MySQLDestConfig) (Writer, error) {
	if cfg.Object == "" {
		return nil, errors.New("no object")
	}
	cols, err := myTableColumns(ctx, d.db, cfg.Object)
	if err != nil {
		return nil, err
	}
	exists := cols != nil
	if !exists {
		if !cfg.CreateTable {
			return nil, errors.New("table does not exist (create it, or set create_table: true)")
		}
		ddl, err := myCreateTableSQL(cfg.Object, t.Schema, cfg.PrimaryKey)
		if err != nil {
			return nil, err
		}
		if t.DryRun {
			return myDryRun{}, myCheckKey(t, cfg)
		}
		if _, err := d.db.ExecContext(ctx, ddl); err != nil {
			return nil, fmt.Errorf("create table: %w", err)
		}
		// read the columns back: the catalog, not a guess from the Arrow
		// type, says what each column is
		if cols, err = myTableColumns(ctx, d.db, cfg.Object); err != nil {
			return nil, err
		}
		if cols == nil {
			return nil, errors.New("table created but not found in information_schema")
		}
	} else if cfg.CreateTable {
		if cols, err = d.addColumns(ctx, t, cfg.Object, cols); err != nil {
			return nil, err
		}
	}
	var errs []error
	for _, f := range t.Schema.Fields() {
		c, ok := cols[f.Name]
		if !ok {
			errs = append(errs, fmt.Errorf("column %q does not exist in the table", f.Name))
			continue
		}
		if err := myFits(f, c); err != nil {
			errs = append(errs, err)
		}
	}
	if err := myCheckKey(t, cfg); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if (cfg.Mode == spec.ModeUpsert || cfg.Mode == spec.ModeInsert || cfg.Mode == spec.ModeMirror) && len(cfg.PrimaryKey) > 0 {
		ok, err := myHasUniqueKey(ctx, d.db, cfg.Object, cfg.PrimaryKey)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("no unique index or primary key on (%s), which mode %s needs", strings.Join(cfg.PrimaryKey, ", "), cfg.Mode)
		}
	}
	if t.DryRun {
		return myDryRun{}, nil
	}
	direct, err := myDirectLoad(ctx, d.db, cfg.Object, t.Schema, cols)
	if err != nil {
		return nil, err
	}
	w := newMyWriter(d.db, t.Sync, cfg.Object, cfg.PrimaryKey, cols, direct)
	if cfg.Mode == spec.ModeReplace {
		return w.beginReplace(ctx)
	}
	return w, nil
}

// myCheckKey checks that every primary key column is mapped.
func myCheckKey(t Target, cfg MySQLDestConfig) error {
	var errs []error
	for _, k := range cfg.PrimaryKey {
		if t.Schema.FieldIndices(k) == nil {
			errs = append(errs, fmt.Errorf("primary key column %q is not among the mapped fields", k))
		}
	}
	return errors.Join(errs...)
}

// addColumns gives the table a nullable column for every mapped field it
// lacks (a column added to the query), as the other SQL destinations do:
// create_table manages the table. A dry run adds nothing.
func (d *mysqlDest) addColumns(ctx context.Context, t Target, table string, cols map[string]myColumn) (map[string]myColumn, error) {
	added := false
	var errs []error
	for _, f := range t.Schema.Fields() {
		if _, ok := cols[f.Name]; ok {
			continue
		}
		typ, err := myColumnType(f, false)
		if err != nil {
			errs = append(errs, fmt.Errorf("column %q: %w", f.Name, err))
			continue
		}
		if t.DryRun {
			cols[f.Name] = myColumn{name: f.Name, dataType: myBaseType(typ), columnType: strings.ToLower(typ)}
			continue
		}
		stmt := "ALTER TABLE " + mysqlconn.Ident(table) + " ADD COLUMN " + mysqlconn.Col(f.Name) + " " + typ + " NULL"
		// 1060: another runner added it since we looked
		if _, err := d.db.ExecContext(ctx, stmt); err != nil && mysqlconn.Code(err) != 1060 {
			return nil, fmt.Errorf("add column %q: %w", f.Name, err)
		}
		t.Log().Info("added column", "table", table, "column", f.Name, "type", typ)
		added = true
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if !added {
		return cols, nil
	}
	return myTableColumns(ctx, d.db, table)
}

// myDryRun is what validate --connect gets: the table and schema were
// checked, nothing may be written.
type myDryRun struct{}

func (myDryRun) Write(context.Context, Batch) (Result, error) {
	return Result{}, errors.New("mysql destination opened as a dry run: nothing may be written")
}
func (myDryRun) Commit(context.Context) error { return nil }
func (myDryRun) Abort(context.Context) error  { return nil }
func (myDryRun) Concurrency() int             { return 0 }
