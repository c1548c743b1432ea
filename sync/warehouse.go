package sync

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/extract"
	"github.com/hoist-dev/hoist/internal/pgconn"
	"github.com/hoist-dev/hoist/internal/shard"
	"github.com/hoist-dev/hoist/sync/diff"
	"github.com/hoist-dev/hoist/sync/spec"
	"github.com/hoist-dev/hoist/sync/state"
)

// diff: warehouse (see warehouse_sql.go for the table and the query). The
// engine differs from the client diff in where the snapshot lives and who
// compares; the batches, the changeset, the acknowledgements and the state
// commit are the same:
//
//   - open: the source is described by the diff query with LIMIT 0, so the
//     mapper and the identity are built as for any source, and nothing is
//     read yet;
//   - prepare (run only, under the run's lock): the schema and tables are
//     made, the run's fencing token is written for the sync, and a sync
//     with no recorded state (never run, state reset, --full-refresh over a
//     new target) has its warehouse snapshot cleared, so that it sends
//     every row as a client diff would;
//   - diff: one query returns what the mode sends; each row is mapped and
//     encoded like an extracted one and becomes a diff event, its hash and
//     key text riding in the change's aux;
//   - commit: once the destination has acknowledged, the acknowledged
//     changes are applied to the snapshot table in one transaction that
//     first checks the sync's fencing token is still this run's.
//
// Plan runs the same query without prepare, against the table as it is.

// warehouse is one run's (or plan's) warehouse diff of one sync.
type warehouse struct {
	name  string // the sync's name in the snapshot (warehouseName)
	pool  *pgxpool.Pool
	rd    extract.SQLReader
	q     whQuery
	fp    string // fingerprint: mapping and engine version, part of every hash
	token int64  // this run's fence (0 until prepare)
	// empty: diff against no snapshot (a fresh state, --full-refresh over
	// a new target); every row is an add
	empty bool
}

// whVersion changes when the hashed text changes meaning: every snapshot
// hash then differs and each row is sent once again.
const whVersion = "hoist warehouse diff 1"

// openWarehouse connects to the source database for the snapshot and
// works out the query's columns.
func (r *Runner) openWarehouse(ctx context.Context, s *spec.Sync, src extract.Source) (*warehouse, error) {
	rd, ok := extract.AsSQLReader(src)
	if !ok {
		return nil, r.File.Problem(s.Field()+".diff", "diff: warehouse needs a postgres source")
	}
	conn := r.File.Connections[s.Source.Connection]
	cfg, err := connector.As[*pgconn.Config](conn.Config)
	if err != nil {
		return nil, err
	}
	sq, err := connector.As[*connector.SQLSource](s.Source.Config)
	if err != nil {
		return nil, err
	}
	w := &warehouse{name: r.warehouseName(s), rd: rd, fp: whFingerprint(s)}
	switch {
	case strings.TrimSpace(sq.Query) != "":
		w.q.base = strings.TrimRight(strings.TrimSpace(sq.Query), "; \n\t")
	default:
		w.q.base = "SELECT * FROM " + pgconn.Ident(sq.Table)
	}
	w.q.keyCols = slices.Clone(s.Destination.PrimaryKey)
	if len(s.Mappings) > 0 {
		w.q.keyCols = nil
		for _, k := range s.Destination.PrimaryKey {
			i := slices.IndexFunc(s.Mappings, func(m *spec.Mapping) bool { return m.To == k })
			if i < 0 || s.Mappings[i].From == "" || s.Mappings[i].Type != "" {
				return nil, r.File.Problem(s.Field()+".diff", "diff: warehouse needs each primary key field mapped from a source column as it is (no type, no value): %q is not", k)
			}
			w.q.keyCols = append(w.q.keyCols, s.Mappings[i].From)
		}
		for _, m := range s.Mappings {
			if m.From != "" && !slices.Contains(w.q.rowCols, m.From) {
				w.q.rowCols = append(w.q.rowCols, m.From)
			}
		}
		if w.q.rowCols == nil {
			w.q.rowCols = []string{} // only constants: the row text is ()
		}
	}
	w.q.shard = r.layout(s)
	w.q.removes = ModeOf(s.Destination.Mode).SendsDeletes
	w.q.all = r.Opt.FullRefresh
	w.pool, err = pgconn.Connect(ctx, cfg.URL.Reveal(), pgconn.Options{AppName: "hoist warehouse diff", MaxConns: 2, StatementTimeout: cfg.StatementTimeout.D()})
	if err != nil {
		return nil, err
	}
	// the query joins the snapshot once the table exists (a plan before
	// the first run finds none, and writes nothing)
	var reg *string
	if err := w.pool.QueryRow(ctx, "SELECT to_regclass($1)::text", snapshotTable()).Scan(&reg); err != nil {
		w.close()
		return nil, fmt.Errorf("diff: warehouse: %w", err)
	}
	w.q.snapshot = reg != nil
	if _, err := w.pool.Exec(ctx, w.q.probeSQL()); err != nil {
		if ctx.Err() != nil {
			w.close()
			return nil, ctx.Err()
		}
		w.q.md5 = true
		r.log().Info("diff: warehouse hashes the rows' text with md5 (slower): the source's values cannot all be hashed as they are", "sync", s.Name, "reason", err.Error())
	}
	return w, nil
}

// warehouseName is the sync's name in the snapshot table: its state name
// (a shard's own) and a hash of the destination it delivers to, so that
// two specs with a sync of one name, reading one database into different
// targets, keep apart.
func (r *Runner) warehouseName(s *spec.Sync) string {
	h := sha256.Sum256([]byte(connAddress(r.File.Connections[s.Destination.Connection]) + " object=" + s.Destination.Object))
	return r.stateName(s) + " " + hex.EncodeToString(h[:6])
}

// whFingerprint is what every hash starts with: the mapping (a changed
// cast or constant changes the mapped rows while the source's stay the
// same) and the engine's version.
func whFingerprint(s *spec.Sync) string {
	h := sha256.New()
	h.Write([]byte(whVersion))
	for _, m := range s.Mappings {
		v := "\x00"
		if m.Value != nil {
			v = *m.Value
		}
		fmt.Fprintf(h, "\x1e%s\x1f%s\x1f%s\x1f%s", m.From, m.To, v, m.Type)
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

func (w *warehouse) close() {
	if w.pool != nil {
		w.pool.Close()
	}
}

// read starts the diff query; limit0 only describes its columns.
func (w *warehouse) read(ctx context.Context, req extract.Request, limit0 bool) (array.RecordReader, error) {
	q := w.q
	q.snapshot = q.snapshot && !w.empty
	sql := q.sql()
	if limit0 {
		sql = "SELECT * FROM (\n" + sql + "\n) d LIMIT 0"
	}
	var fp any = w.fpSeed()
	if q.md5 {
		fp = w.fp
	}
	return w.rd.ReadSQL(ctx, req, extract.SQLQuery{SQL: sql, Args: []any{w.name, fp},
		// the snapshot's keys in one in-memory hash table, not spilled in
		// batches with every source row (this transaction only)
		Before: []string{"SET LOCAL work_mem = '" + whWorkMem + "'"}})
}

// whWorkMem is the diff query's work_mem: the join's hash table holds the
// snapshot's keys (about 70 bytes each).
const whWorkMem = "256MB"

// fpSeed is the fingerprint as hash_record_extended's seed.
func (w *warehouse) fpSeed() int64 {
	b, _ := hex.DecodeString(w.fp)
	return int64(binary.BigEndian.Uint64(b))
}

// whDDLLock serialises the schema's creation among runners (see the state
// store's ddlLockKey for why IF NOT EXISTS alone is not enough).
const whDDLLock = 0x686f6973747768 // "hoistwh"

// prepare readies the snapshot for a run holding the sync's lock: the
// tables exist, the run's fencing token is the sync's (a run that lost
// its lock then fails its apply), and a fresh state starts from an empty
// snapshot.
func (w *warehouse) prepare(ctx context.Context, fresh bool) error {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	w.token = int64(binary.BigEndian.Uint64(b[:]) >> 1)
	err := pgconn.Retry(ctx, pgconn.DefaultRetry, func(ctx context.Context) error {
		return pgx.BeginFunc(ctx, w.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(whDDLLock)); err != nil {
				return err
			}
			for _, ddl := range warehouseDDL() {
				if _, err := tx.Exec(ctx, ddl); err != nil {
					return err
				}
			}
			if _, err := tx.Exec(ctx, "INSERT INTO "+fenceTable()+" (sync, token) VALUES ($1, $2) ON CONFLICT (sync) DO UPDATE SET token = EXCLUDED.token", w.name, w.token); err != nil {
				return err
			}
			if fresh {
				_, err := tx.Exec(ctx, "DELETE FROM "+snapshotTable()+" WHERE sync = $1", w.name)
				return err
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("diff: warehouse: prepare the snapshot in schema %s: %w", WarehouseSchema, err)
	}
	w.q.snapshot = true
	w.empty = false
	return nil
}

// rows counts the snapshot's keys (the mass-delete guard's base).
func (w *warehouse) rows(ctx context.Context) (int64, error) {
	if !w.q.snapshot || w.empty {
		return 0, nil
	}
	var n int64
	err := w.pool.QueryRow(ctx, "SELECT count(*) FROM "+snapshotTable()+" WHERE sync = $1", w.name).Scan(&n)
	return n, err
}

// whAux packs what the commit applies for a change: the row's hash (none
// for a remove) and its key text.
func whAux(buf []byte, hash []byte, key string) []byte {
	buf = append(buf[:0], byte(len(hash)))
	buf = append(buf, hash...)
	return append(buf, key...)
}

func whUnaux(aux []byte) (hash []byte, key string) {
	if len(aux) == 0 || len(aux) < 1+int(aux[0]) {
		return nil, ""
	}
	n := int(aux[0])
	if n > 0 {
		hash = aux[1 : 1+n]
	}
	return hash, string(aux[1+n:])
}

// warehouseDiff is runDiff for diff: warehouse: it runs the diff query and
// turns each returned row into a diff event.
func (r *Runner) warehouseDiff(ctx context.Context, s *spec.Sync, x *extraction, sorted func(*diffResult) error, count func(diff.Event) error, res *diffResult) error {
	w := x.wh
	res.wh = true
	if ModeOf(s.Destination.Mode).BoundedDeletes {
		n, err := w.rows(ctx)
		if err != nil {
			return fmt.Errorf("diff: warehouse: count the snapshot: %w", err)
		}
		res.whRows = n
	}
	if x.rdr != nil {
		x.rdr.Release()
		x.rdr = nil
	}
	rr, err := w.read(ctx, extract.Request{Sync: s.Name, Source: &s.Source, Alloc: r.alloc(), Logger: r.log().With("sync", s.Name)}, false)
	if err != nil {
		return fmt.Errorf("diff: warehouse: %w", err)
	}
	x.rdr = rr
	in := x.srcSchema
	keyCols := make([]arrow.Array, len(x.keyIdx))
	var keyBuf, rowBuf, textBuf, auxBuf []byte
	var returned int64
	for rr.Next() {
		rec := rr.RecordBatch()
		n := int(rec.NumCols()) - whExtra
		keyText, _ := rec.Column(n).(*array.String)
		hash, _ := rec.Column(n + 1).(*array.Binary)
		op, _ := rec.Column(n + 2).(*array.String)
		skey, _ := rec.Column(n + 3).(*array.String)
		ekey, _ := rec.Column(n + 4).(*array.Binary)
		if keyText == nil || hash == nil || op == nil || skey == nil || ekey == nil {
			return fmt.Errorf("diff: warehouse: the query's own columns came back as %s", rec.Schema())
		}
		returned += rec.NumRows()
		srcRec := array.NewRecordBatch(in, rec.Columns()[:n], rec.NumRows())
		mapped, err := x.mapper.Map(ctx, srcRec)
		srcRec.Release()
		if err != nil {
			return fmt.Errorf("map rows: %w", err)
		}
		enc := diff.NewRowEncoder(mapped)
		for k, idx := range x.keyIdx {
			keyCols[k] = mapped.Column(idx)
		}
		for i := range int(mapped.NumRows()) {
			var e diff.Event
			switch op.Value(i) {
			case "r":
				e = diff.Event{Kind: diff.Remove, Key: ekey.Value(i)}
				auxBuf = whAux(auxBuf, nil, skey.Value(i))
				e.Aux = auxBuf
				if err := count(e); err != nil {
					mapped.Release()
					return err
				}
				continue
			case "a":
				e.Kind = diff.Add
			case "c":
				e.Kind = diff.Change
			default:
				e.Kind = diff.Unchanged
			}
			x.read++
			keyBuf, err = diff.AppendKey(keyBuf[:0], keyCols, i)
			if err != nil {
				res.nullKeys = append(res.nullKeys, rejectLine{Sync: s.Name, Key: keyOf(mapped, i, x.keyIdx), Row: rowMap(mapped, i, nil), Error: "primary key is NULL"})
				continue
			}
			// the snapshot is keyed by the SQL's key text and the shards
			// split by Go's: they must be the same text
			if textBuf = shard.AppendKeyText(textBuf[:0], keyCols, i); string(textBuf) != keyText.Value(i) {
				mapped.Release()
				return fmt.Errorf("diff: warehouse: key %s has the text %q in PostgreSQL and %q in hoist (report this with the key's column types)", diff.KeyString(keyBuf), keyText.Value(i), textBuf)
			}
			rowBuf = enc.Append(rowBuf[:0], i)
			auxBuf = whAux(auxBuf, hash.Value(i), keyText.Value(i))
			e.Key, e.New, e.Aux = keyBuf, rowBuf, auxBuf
			if err := count(e); err != nil {
				mapped.Release()
				return err
			}
		}
		mapped.Release()
	}
	if err := rr.Err(); err != nil {
		return fmt.Errorf("diff: warehouse: %w", err)
	}
	r.log().Info("warehouse diff", "sync", s.Name, "rows_from_source", returned, "added", res.added, "changed", res.changed, "removed", res.removed)
	if sorted != nil {
		return sorted(res)
	}
	return nil
}

// errFenced is the apply's failure when another run took the sync since
// this one prepared: its snapshot changes are not this run's to make.
var errFenced = fmt.Errorf("%w: another run prepared the warehouse snapshot since this one did", state.ErrLockLost)

// whChanges iterates the acknowledged changes of a run (stage_commit.go
// makes it from the changesets).
type whChanges interface {
	Next() bool
	// Change is valid until the next call to Next.
	Change() (kind diff.Kind, ekey, aux []byte)
	Err() error
}

// apply writes the acknowledged changes to the snapshot in one
// transaction, after checking the fence: they are copied into a temporary
// table as they are read, then merged.
func (w *warehouse) apply(ctx context.Context, it whChanges) error {
	return pgx.BeginFunc(ctx, w.pool, func(tx pgx.Tx) error {
		var token int64
		err := tx.QueryRow(ctx, "SELECT token FROM "+fenceTable()+" WHERE sync = $1 FOR UPDATE", w.name).Scan(&token)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && token != w.token) {
			return errFenced
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "CREATE TEMP TABLE hoist_apply (key text NOT NULL, ekey bytea NOT NULL, hash bytea) ON COMMIT DROP"); err != nil {
			return err
		}
		row := make([]any, 3)
		n, err := tx.CopyFrom(ctx, pgx.Identifier{"hoist_apply"}, []string{"key", "ekey", "hash"}, pgx.CopyFromFunc(func() ([]any, error) {
			if !it.Next() {
				return nil, it.Err()
			}
			kind, ekey, aux := it.Change()
			hash, key := whUnaux(aux)
			if kind == diff.Remove {
				hash = nil
			} else if hash == nil {
				return nil, fmt.Errorf("change of key %s has no hash", diff.KeyString(ekey))
			}
			row[0], row[1], row[2] = key, ekey, hash
			return row, nil
		}))
		if err != nil || n == 0 {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM "+snapshotTable()+" s USING hoist_apply a WHERE s.sync = $1 AND s.key = a.key AND a.hash IS NULL", w.name); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, "INSERT INTO "+snapshotTable()+" (sync, key, ekey, hash) SELECT DISTINCT ON (key) $1::text, key, ekey, hash FROM hoist_apply WHERE hash IS NOT NULL"+
			" ON CONFLICT (sync, key) DO UPDATE SET ekey = EXCLUDED.ekey, hash = EXCLUDED.hash", w.name)
		return err
	})
}

// whAcked iterates the run's acknowledged changes, for the warehouse
// snapshot: the changes sent, then the deletes (the apply needs no order).
func (u *syncRun) whAcked() (whChanges, error) {
	sent, err := u.cs.reader()
	if err != nil {
		return nil, err
	}
	removed, err := u.removes.reader()
	if err != nil {
		return nil, err
	}
	return &whAckedIter{lists: []*changesetReader{sent, removed}, acks: u.stage.acks}, nil
}

type whAckedIter struct {
	lists []*changesetReader
	acks  *acks
	cur   *change
}

func (it *whAckedIter) Next() bool {
	for len(it.lists) > 0 {
		l := it.lists[0]
		if !l.next() {
			if l.err != nil {
				return false
			}
			it.lists = it.lists[1:]
			continue
		}
		if it.acks.delivered(l.ch.seq, l.ch.idx) {
			it.cur = &l.ch
			return true
		}
	}
	return false
}

func (it *whAckedIter) Change() (diff.Kind, []byte, []byte) {
	return it.cur.kind, it.cur.key, it.cur.aux
}

func (it *whAckedIter) Err() error {
	for _, l := range it.lists {
		if l.err != nil {
			return l.err
		}
	}
	return nil
}
