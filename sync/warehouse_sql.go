package sync

import (
	"strings"

	"github.com/hoist-dev/hoist/internal/pgconn"
	"github.com/hoist-dev/hoist/internal/shard"
)

// The warehouse diff's SQL, PostgreSQL dialect. The snapshot is one table
// in a schema hoist owns in the source database:
//
//	hoist_diff.snapshot (sync, key, ekey, hash)
//
// sync is the sync's state name (a shard's own, see shard.go), key the key
// text (internal/shard: the same text the shard hash is over), ekey the key
// as hoist encodes it (for the delete batches of keys gone from the
// source), hash md5 of the run's fingerprint and the text of the source
// columns the mapping reads. One query joins the source with it and returns
// only what the mode sends: rows new to the snapshot, rows whose hash
// differs and, for mirror, the keys only the snapshot has.

// WarehouseSchema is the schema hoist keeps warehouse snapshots in, inside
// the source database.
const WarehouseSchema = "hoist_diff"

// The columns the diff query adds after the source's, in this order.
const (
	whKey   = "__hoist_key"  // the source row's key text
	whHash  = "__hoist_hash" // its hash
	whOp    = "__hoist_op"   // a (add), c (change), u (unchanged), r (remove)
	whSKey  = "__hoist_skey" // the snapshot's key text (removes)
	whEKey  = "__hoist_ekey" // the snapshot's encoded key (removes)
	whExtra = 5              // how many
)

// whQuery is what the diff query is built from.
type whQuery struct {
	base    string   // the source's query (or SELECT * FROM table)
	keyCols []string // source columns of the key, in key order
	// rowCols are the source columns the mapping reads; nil: every column.
	rowCols []string
	shard   shard.Spec // a sharded run keeps its shard's rows
	// snapshot: join the snapshot table (false: a first run, or a plan
	// before the table exists: every row is an add).
	snapshot bool
	removes  bool // return the keys only the snapshot holds (mirror)
	all      bool // return unchanged rows too (--full-refresh)
	// md5 hashes the row's text: for a source with a column type that has
	// no hash function (json, xml…) or a server before PostgreSQL 14.
	// Otherwise hash_record_extended hashes the values themselves, with
	// each type's hash function, three times faster than the row's text
	// (what hash partitioning uses, so stable across versions).
	md5 bool
}

// snapshotTable is the qualified snapshot table.
func snapshotTable() string { return pgconn.Col(WarehouseSchema) + ".snapshot" }

// fenceTable is the qualified table of fencing tokens, one row per sync.
func fenceTable() string { return pgconn.Col(WarehouseSchema) + ".fences" }

// warehouseDDL creates the schema and its tables.
func warehouseDDL() []string {
	return []string{
		"CREATE SCHEMA IF NOT EXISTS " + pgconn.Col(WarehouseSchema),
		"CREATE TABLE IF NOT EXISTS " + snapshotTable() + ` (sync text NOT NULL, key text NOT NULL,
	ekey bytea NOT NULL, hash bytea NOT NULL, PRIMARY KEY (sync, key))`,
		"CREATE TABLE IF NOT EXISTS " + fenceTable() + ` (sync text PRIMARY KEY, token bigint NOT NULL)`,
	}
}

func qcols(cols []string) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = "q." + pgconn.Col(c)
	}
	return out
}

// keyTextSQL is the key text of a source row, as shard.AppendKeyText
// writes it.
func keyTextSQL(cols []string) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = "coalesce(" + c + "::text, '')"
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return "concat_ws(chr(31), " + strings.Join(parts, ", ") + ")"
}

// rowSQL is the row the hash is over: the source row, or the columns the
// mapping reads.
func (w *whQuery) rowSQL() string {
	if w.rowCols != nil {
		return "ROW(" + strings.Join(qcols(w.rowCols), ", ") + ")"
	}
	return "q"
}

// hashSQL is the row's hash; $2 is the fingerprint (a bigint seed, or a
// text prefix for md5).
func (w *whQuery) hashSQL() string {
	if w.md5 {
		return "decode(md5($2::text || " + w.rowSQL() + "::text), 'hex')"
	}
	return "int8send(hash_record_extended(" + w.rowSQL() + ", $2::bigint))"
}

// probeSQL checks that hash_record_extended can hash the source's rows: it
// fails on a type without a hash function, and before PostgreSQL 14.
func (w *whQuery) probeSQL() string {
	return "SELECT hash_record_extended(" + w.rowSQL() + ", 0) FROM (\n" + w.base + "\n) q LIMIT 1"
}

// sql is the diff query: $1 the sync's state name, $2 the fingerprint.
func (w *whQuery) sql() string {
	var b strings.Builder
	b.WriteString("WITH src AS (\nSELECT q.*, " + keyTextSQL(qcols(w.keyCols)) + " AS " + whKey +
		", " + w.hashSQL() + " AS " + whHash + "\nFROM (\n" + w.base + "\n) q")
	if w.shard.Sharded() {
		b.WriteString("\nWHERE " + shard.Postgres(qcols(w.keyCols), w.shard))
	}
	b.WriteString("\n)")
	if !w.snapshot {
		b.WriteString("\nSELECT src.*, 'a'::text AS " + whOp + ", NULL::text AS " + whSKey + ", NULL::bytea AS " + whEKey + " FROM src WHERE $1::text IS NOT NULL")
		return b.String()
	}
	b.WriteString(", snap AS (\nSELECT key, ekey, hash FROM " + snapshotTable() + " WHERE sync = $1\n)\n")
	b.WriteString("SELECT src.*, CASE WHEN src." + whKey + " IS NULL THEN 'r' WHEN snap.key IS NULL THEN 'a' WHEN snap.hash = src." + whHash +
		" THEN 'u' ELSE 'c' END AS " + whOp + ", snap.key AS " + whSKey + ", snap.ekey AS " + whEKey + "\n")
	join := "LEFT JOIN"
	if w.removes {
		join = "FULL JOIN"
	}
	b.WriteString("FROM src " + join + " snap ON snap.key = src." + whKey)
	if !w.all {
		b.WriteString("\nWHERE snap.key IS NULL OR snap.hash IS DISTINCT FROM src." + whHash)
	}
	return b.String()
}
