package load

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/internal/pgconn"
	"github.com/hoist-dev/hoist/internal/pgwire"
	"github.com/hoist-dev/hoist/sync/spec"
)

// A dry-run open of a postgres destination reads the catalog and changes
// nothing, so plan checks the mapped schema against it (PlanCheck).
func init() { Register(pgconn.Type, sqlDestRole(true), openPostgres) }

// postgresDest writes tables of one PostgreSQL database.
//
// Every batch is COPYed (binary) and applied in a transaction of its own, so
// a batch is either wholly applied or not at all; replace runs every batch in
// one transaction that TRUNCATEs first and commits at Commit.
type postgresDest struct {
	pool *pgxpool.Pool
	name string
}

var _ Destination = (*postgresDest)(nil)

func openPostgres(ctx context.Context, conn *spec.Connection, _ string) (Destination, error) {
	cfg, err := connector.As[*pgconn.Config](conn.Config)
	if err != nil {
		return nil, err
	}
	pool, err := pgconn.Connect(ctx, cfg.URL.Reveal(), cfg.Options())
	if err != nil {
		return nil, err
	}
	return &postgresDest{pool: pool, name: conn.Name}, nil
}

// NewPostgresDestination wraps an existing pool (tests, the benchmark driver).
func NewPostgresDestination(pool *pgxpool.Pool) Destination {
	return &postgresDest{pool: pool, name: "postgres"}
}

func (d *postgresDest) Close() error {
	d.pool.Close()
	return nil
}

func (d *postgresDest) Open(ctx context.Context, t Target) (Writer, error) {
	w, err := d.open(ctx, t)
	if err != nil {
		return nil, fmt.Errorf("sync %s: open postgres table %s: %w", t.Sync, t.Dest.Object, err)
	}
	return w, nil
}

func (d *postgresDest) open(ctx context.Context, t Target) (Writer, error) {
	table := t.Dest.Object
	exists, err := tableExists(ctx, d.pool, table)
	if err != nil {
		return nil, err
	}
	if !exists {
		if !createTable(t) {
			return nil, errors.New("table does not exist (create it, or set create_table: true)")
		}
		sql, err := createTableSQL(table, t.Schema, t.Dest.PrimaryKey)
		if err != nil {
			return nil, err
		}
		if !t.DryRun {
			// Runners that start together (the shards of one sync) all
			// find the table missing: IF NOT EXISTS alone still races on
			// the catalog's unique index, so creators queue on a lock.
			err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", "hoist create table "+table); err != nil {
					return err
				}
				_, err := tx.Exec(ctx, sql)
				return err
			})
			if err != nil {
				return nil, fmt.Errorf("create table: %w", err)
			}
		}
	}
	w := &pgWriter{pool: d.pool, sync: t.Sync, table: table, ident: pgconn.Ident(table), key: t.Dest.PrimaryKey,
		encs: map[string]pgwire.Encoder{}, stages: map[*pgx.Conn]map[string]bool{}, target: pgconn.JoinTarget(d.pool.Config().ConnConfig)}
	if !exists && t.DryRun {
		return w.finishOpen(ctx, t, nil)
	}
	// read the columns back, also of a table just created: the catalog, not
	// a guess from the Arrow type, says what each column is (jsonb, uuid…)
	cols, err := tableColumns(ctx, d.pool, table)
	if err != nil {
		return nil, err
	}
	if exists && createTable(t) {
		if cols, err = d.addColumns(ctx, t, table, cols); err != nil {
			return nil, err
		}
	}
	return w.finishOpen(ctx, t, cols)
}

// addColumns gives the table a nullable column for every mapped field it
// lacks (a column added to the query), as the SQLite destination does:
// create_table manages the table. A dry run adds nothing and returns the
// columns the run would add as if they existed.
func (d *postgresDest) addColumns(ctx context.Context, t Target, table string, cols map[string]pgColumn) (map[string]pgColumn, error) {
	added := false
	var errs []error
	for _, f := range t.Schema.Fields() {
		if _, ok := cols[f.Name]; ok {
			continue
		}
		typ, err := columnType(f)
		if err != nil {
			errs = append(errs, fmt.Errorf("column %q: %w", f.Name, err))
			continue
		}
		if t.DryRun {
			cols[f.Name] = pgColumn{name: f.Name, oid: oidForCreated(f.Type), typ: typ}
			continue
		}
		// IF NOT EXISTS: another runner may have added it since we looked.
		stmt := "ALTER TABLE " + pgconn.Ident(table) + " ADD COLUMN IF NOT EXISTS " + pgconn.Col(f.Name) + " " + typ
		if _, err := d.pool.Exec(ctx, stmt); err != nil {
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
	return tableColumns(ctx, d.pool, table)
}

// finishOpen binds every mapped field to its column (cols nil: a dry run
// of a table create_table would create).
func (w *pgWriter) finishOpen(ctx context.Context, t Target, cols map[string]pgColumn) (Writer, error) {
	var errs []error
	for _, f := range t.Schema.Fields() {
		c, ok := cols[f.Name]
		if cols == nil {
			typ, err := columnType(f)
			if err != nil {
				errs = append(errs, fmt.Errorf("column %q: %w", f.Name, err))
				continue
			}
			c, ok = pgColumn{name: f.Name, oid: oidForCreated(f.Type), typ: typ}, true
		}
		if !ok {
			errs = append(errs, fmt.Errorf("column %q does not exist in the table", f.Name))
			continue
		}
		enc, err := encoderFor(f, c)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		w.encs[f.Name] = enc
	}
	for _, k := range w.key {
		if t.Schema.FieldIndices(k) == nil {
			errs = append(errs, fmt.Errorf("primary key column %q is not among the mapped fields", k))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	mode := t.Dest.Mode
	if (mode == spec.ModeUpsert || mode == spec.ModeInsert || mode == spec.ModeMirror) && len(w.key) > 0 && cols != nil {
		ok, err := hasUniqueKey(ctx, w.pool, w.table, w.key)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("no unique index or primary key on (%s), which mode %s needs", strings.Join(w.key, ", "), mode)
		}
	}
	if t.DryRun {
		return dryRunWriter{}, nil
	}
	if mode == spec.ModeReplace {
		return w.beginReplace(ctx)
	}
	return w, nil
}

// oidForCreated is the type oid a column created by createTableSQL has.
func oidForCreated(dt arrow.DataType) uint32 {
	switch t := dt.(type) {
	case *arrow.Decimal128Type, *arrow.Decimal256Type:
		return pgwire.NumericOID
	case *arrow.TimestampType:
		if t.TimeZone != "" {
			return pgwire.TstzOID
		}
		return pgwire.TimestampOID
	case *arrow.ListType:
		a, _ := pgwire.ArrayOID(oidForCreated(t.Elem()))
		return a
	case *arrow.LargeListType:
		a, _ := pgwire.ArrayOID(oidForCreated(t.Elem()))
		return a
	case arrow.ExtensionType:
		switch t.ExtensionName() {
		case "arrow.json":
			return pgwire.JSONBOID
		case "arrow.uuid":
			return pgwire.UUIDOID
		}
		return oidForCreated(t.StorageType())
	}
	switch dt.ID() {
	case arrow.BOOL:
		return pgwire.BoolOID
	case arrow.INT8, arrow.INT16, arrow.UINT8:
		return pgwire.Int2OID
	case arrow.INT32, arrow.UINT16:
		return pgwire.Int4OID
	case arrow.INT64, arrow.UINT32:
		return pgwire.Int8OID
	case arrow.UINT64:
		return pgwire.NumericOID
	case arrow.FLOAT32:
		return pgwire.Float4OID
	case arrow.FLOAT64:
		return pgwire.Float8OID
	case arrow.BINARY, arrow.LARGE_BINARY, arrow.BINARY_VIEW, arrow.FIXED_SIZE_BINARY:
		return pgwire.ByteaOID
	case arrow.DATE32, arrow.DATE64:
		return pgwire.DateOID
	}
	return pgwire.TextOID
}

// stageName names the per-session staging table of one column set, so
// writers of different tables or ops on one connection never share one.
func stageName(table string, cols []string) string {
	h := fnv.New64a()
	h.Write([]byte(table))
	for _, c := range cols {
		h.Write([]byte{0})
		h.Write([]byte(c))
	}
	return fmt.Sprintf("hoist_stage_%016x", h.Sum64())
}

// ordColumn names the staging column that numbers an update batch's rows:
// "hoist_row", with underscores added until no mapped column has the name.
func ordColumn(cols []string) string {
	ord := "hoist_row"
	for slices.Contains(cols, ord) {
		ord += "_"
	}
	return ord
}

// applySQL is the one statement that moves a staged batch into the table.
// An update's also answers which staged rows (by ord, their row number in
// the batch) found no key in the table: those are not held.
func applySQL(op Op, table, stage string, cols, key []string, ord string) string {
	var nonKey []string
	for _, c := range cols {
		if !slices.Contains(key, c) {
			nonKey = append(nonKey, c)
		}
	}
	list := colList(cols)
	insert := "INSERT INTO " + table + " (" + list + ") SELECT " + list + " FROM " + stage
	switch op {
	case OpInsert:
		if len(key) == 0 {
			return insert + " ON CONFLICT DO NOTHING"
		}
		return insert + " ON CONFLICT (" + colList(key) + ") DO NOTHING"
	case OpUpsert:
		if len(nonKey) == 0 {
			return insert + " ON CONFLICT (" + colList(key) + ") DO NOTHING"
		}
		sets := make([]string, len(nonKey))
		for i, c := range nonKey {
			sets[i] = pgconn.Col(c) + " = EXCLUDED." + pgconn.Col(c)
		}
		return insert + " ON CONFLICT (" + colList(key) + ") DO UPDATE SET " + strings.Join(sets, ", ")
	case OpUpdate:
		o := pgconn.Col(ord)
		if len(nonKey) == 0 { // nothing to set: only whether the key is there
			return "SELECT s." + o + " FROM " + stage + " s WHERE NOT EXISTS (SELECT 1 FROM " + table + " t WHERE " + keyMatch(key) + ")"
		}
		sets := make([]string, len(nonKey))
		for i, c := range nonKey {
			sets[i] = pgconn.Col(c) + " = s." + pgconn.Col(c)
		}
		// The batch's keys are unique (the diff sees to it), so every
		// staged row that matched is returned once by the UPDATE.
		return "WITH u AS (UPDATE " + table + " t SET " + strings.Join(sets, ", ") + " FROM " + stage + " s WHERE " + keyMatch(key) +
			" RETURNING s." + o + ") SELECT s." + o + " FROM " + stage + " s WHERE NOT EXISTS (SELECT 1 FROM u WHERE u." + o + " = s." + o + ")"
	case OpDelete:
		return "DELETE FROM " + table + " t USING " + stage + " s WHERE " + keyMatch(key)
	}
	return insert
}

func keyMatch(key []string) string {
	m := make([]string, len(key))
	for i, k := range key {
		m[i] = "t." + pgconn.Col(k) + " = s." + pgconn.Col(k)
	}
	return strings.Join(m, " AND ")
}

// dryRunWriter is what validate --connect gets: the table and schema were
// checked, nothing may be written.
type dryRunWriter struct{}

func (dryRunWriter) Write(context.Context, Batch) (Result, error) {
	return Result{}, errors.New("postgres destination opened as a dry run: nothing may be written")
}
func (dryRunWriter) Commit(context.Context) error { return nil }
func (dryRunWriter) Abort(context.Context) error  { return nil }
func (dryRunWriter) Concurrency() int             { return 0 }
