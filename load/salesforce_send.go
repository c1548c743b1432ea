package load

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	stdsync "sync"
	"time"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/internal/httpkit"
	"github.com/hoist-dev/hoist/sync/spec"
)

// sfPlan is how one batch is sent: the operation (Salesforce's names),
// whether records are addressed by record ID (an Id column first), and
// the schema columns that may be sent.
type sfPlan struct {
	op    string // insert, upsert, update, delete, hardDelete
	byID  bool
	cols  []int
	clear bool // on_delete: clear: every sent field emptied
}

// ident is the column name a result row names its record by.
func (p sfPlan) ident(w *sfWriter) string {
	if p.byID {
		return "Id"
	}
	return w.ext
}

func (w *sfWriter) plan(b Batch) (sfPlan, bool) {
	n := b.Record.Schema().NumFields()
	all := make([]int, 0, n)
	rest := make([]int, 0, n)
	for c := 0; c < n; c++ {
		all = append(all, c)
		if c != w.extCol {
			rest = append(rest, c)
		}
	}
	switch {
	case b.Op == OpDelete && w.app.OnDelete == connector.DeleteIgnore:
		return sfPlan{}, false
	case b.Op == OpDelete && w.app.OnDelete == connector.DeleteClear:
		return sfPlan{op: "update", byID: true, cols: w.clearCols(), clear: true}, true
	case b.Op == OpDelete && w.cfg.HardDelete:
		return sfPlan{op: "hardDelete", byID: true}, true
	case b.Op == OpDelete:
		return sfPlan{op: "delete", byID: true}, true
	case w.target.Dest.Mode == spec.ModeInsert:
		return sfPlan{op: "insert", cols: all}, true
	case w.target.Dest.Mode == spec.ModeUpdate:
		return sfPlan{op: "update", byID: true, cols: rest}, true
	}
	return sfPlan{op: "upsert", cols: all}, true
}

// clearCols are the target schema's columns but the key (a delete batch's
// record holds only the key; on_delete: clear empties the others).
func (w *sfWriter) clearCols() []int {
	var out []int
	for c := range w.target.Schema.Fields() {
		if c != w.extCol {
			out = append(out, c)
		}
	}
	return out
}

// colField is describe's field of schema column c (nil: not described),
// looked up once per column.
func (w *sfWriter) colField(c int) *sfField {
	w.colOnce.Do(func() {
		w.colFields = make([]*sfField, w.target.Schema.NumFields())
		for k, f := range w.target.Schema.Fields() {
			w.colFields[k] = w.field(f.Name)
		}
	})
	if c < len(w.colFields) {
		return w.colFields[c]
	}
	return nil
}

// colName is a planned column's field name.
func (w *sfWriter) colName(p sfPlan, c int) string { return w.target.Schema.Field(c).Name }

// cellKind is what a cell asks of the field.
type cellKind uint8

const (
	sfCellValue cellKind = iota
	sfCellClear          // empty the field
	sfCellSkip           // leave it as it is (not sent)
)

// cell is row i's value for column c under p; an error rejects the row.
func (w *sfWriter) cell(b Batch, p sfPlan, i, c int) (string, cellKind, error) {
	if p.clear {
		return "", sfCellClear, nil
	}
	if c != w.extCol && w.app.Patch == connector.PatchChanged && i < len(b.Changed) && b.Changed[i] != nil {
		if _, found := slices.BinarySearch(b.Changed[i], c); !found {
			return "", sfCellSkip, nil
		}
	}
	v, null, err := sfText(b.Record.Column(c), i, w.colField(c))
	switch {
	case err != nil:
		return "", 0, fmt.Errorf("field %s: %w", b.Record.Schema().Field(c).Name, err)
	case !null:
		return v, sfCellValue, nil
	case c == w.extCol:
		return "", 0, fmt.Errorf("the external ID %s is empty: the record cannot be addressed", w.ext)
	case p.op == "insert" || w.app.Nulls == connector.NullsSkip:
		return "", sfCellSkip, nil
	}
	return "", sfCellClear, nil
}

// sfOutcome collects what a batch's requests and jobs said of its rows.
type sfOutcome struct {
	mu      stdsync.Mutex
	b       Batch
	failed  []RowError
	notHeld []int
	pending []int
	ids     []string
	retry   []int // UNABLE_TO_LOCK_ROW: sent again after a wait
	rest    []int // rows a job cannot carry: sent through collections
	lockMsg string
}

func (o *sfOutcome) reject(row, status int, msg string) bool {
	o.mu.Lock()
	o.failed = append(o.failed, RowError{Row: row, Status: status, Msg: msg})
	o.mu.Unlock()
	return stopRejecting(o.b, 1)
}

func (o *sfOutcome) learn(row int, id string) {
	if id == "" {
		return
	}
	o.mu.Lock()
	o.ids[row] = id
	o.mu.Unlock()
}

func (o *sfOutcome) book(kind *[]int, row int) {
	o.mu.Lock()
	*kind = append(*kind, row)
	o.mu.Unlock()
}

func (o *sfOutcome) locked(row int, msg string) {
	o.mu.Lock()
	o.retry = append(o.retry, row)
	o.lockMsg = msg
	o.mu.Unlock()
}

// recordError books a record Salesforce refused: a lock is retried, an
// update of a record gone is not held (mode update), a delete of one is
// done, an insert of an external ID a record holds already leaves that
// record alone (mode insert, as OpInsert means: its ID is learned),
// anything else rejects the row. fields are the fields the error names,
// where the answer lists them (collections).
func (w *sfWriter) recordError(p sfPlan, out *sfOutcome, row int, code, msg string, fields []string) bool {
	gone := code == "ENTITY_IS_DELETED" || code == "INVALID_CROSS_REFERENCE_KEY" || code == "NOT_FOUND"
	switch {
	case code == "UNABLE_TO_LOCK_ROW":
		out.locked(row, msg)
		return false
	case code == "DUPLICATE_VALUE" && p.op == "insert":
		if id, held := w.heldBy(msg, fields); held {
			out.learn(row, id)
			return false
		}
	case gone && (p.op == "delete" || p.op == "hardDelete" || p.clear):
		return false // already gone: nothing to delete or clear
	case gone && p.op == "update" && out.b.Op == OpUpdate:
		out.book(&out.notHeld, row)
		return false
	}
	return out.reject(row, 0, code+": "+msg)
}

func (w *sfWriter) Write(ctx context.Context, b Batch) (Result, error) {
	if w.target.DryRun {
		return Result{}, fmt.Errorf("write batch %d: the destination was opened to check it only", b.Seq)
	}
	p, send := w.plan(b)
	if !send {
		return Result{}, nil // on_delete: ignore
	}
	n := int(b.Record.NumRows())
	out := &sfOutcome{b: b, ids: make([]string, n)}
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i
	}
	ids := make([]string, n)
	copy(ids, b.IDs)
	err := w.write(ctx, b, p, rows, ids, out)
	if errors.Is(err, errSFStop) {
		return Result{}, &RejectLimitError{Failed: out.failed}
	}
	if err != nil {
		return Result{}, fmt.Errorf("write batch %d (%s, %d rows) to %s: %w", b.Seq, p.op, n, w.object, err)
	}
	slices.SortFunc(out.failed, func(a, b RowError) int { return a.Row - b.Row })
	slices.Sort(out.notHeld)
	slices.Sort(out.pending)
	res := Result{Failed: out.failed, NotHeld: out.notHeld, Pending: out.pending, IDs: out.ids}
	if !slices.ContainsFunc(out.ids, func(s string) bool { return s != "" }) {
		res.IDs = nil
	}
	return res, nil
}

func (w *sfWriter) write(ctx context.Context, b Batch, p sfPlan, rows []int, ids []string, out *sfOutcome) error {
	if p.byID {
		var err error
		if rows, err = w.resolveIDs(ctx, b, p, rows, ids, out); err != nil {
			return err
		}
	}
	rows = w.jobs.claim(w, b, p, rows, ids, out)
	w.group(b, rows)
	retries := 5
	if w.conn.MaxRetries != nil {
		retries = *w.conn.MaxRetries
	}
	for attempt := 0; len(rows) > 0; attempt++ {
		var err error
		if len(rows) >= w.threshold || p.op == "hardDelete" {
			err = w.bulk(ctx, b, p, rows, ids, out)
			out.mu.Lock()
			rest := out.rest
			out.rest = nil
			out.mu.Unlock()
			if err == nil && len(rest) > 0 {
				w.target.Log().Debug("salesforce: rows with a carriage return sent through collections", "rows", len(rest))
				slices.Sort(rest)
				err = w.collections(ctx, b, p, rest, ids, out)
			}
		} else {
			err = w.collections(ctx, b, p, rows, ids, out)
		}
		if err != nil {
			return err
		}
		out.mu.Lock()
		rows, out.retry = out.retry, nil
		msg := out.lockMsg
		out.mu.Unlock()
		if len(rows) == 0 {
			break
		}
		if attempt >= retries {
			for _, r := range rows {
				if out.reject(r, 0, "UNABLE_TO_LOCK_ROW: "+msg+fmt.Sprintf(" (still locked after %d retries)", retries)) {
					return errSFStop
				}
			}
			break
		}
		w.target.Log().Debug("salesforce: records locked, sending them again", "rows", len(rows), "attempt", attempt+1)
		slices.Sort(rows)
		w.group(b, rows)
		if err := (httpkit.SystemClock{}).Sleep(ctx, time.Duration(attempt+1)*500*time.Millisecond); err != nil {
			return err
		}
	}
	if stopRejecting(b, 0) {
		return errSFStop
	}
	return nil
}

// group orders rows by group_by's value (stable), so that records of one
// parent go together.
func (w *sfWriter) group(b Batch, rows []int) {
	if w.groupCol < 0 {
		return
	}
	col := b.Record.Column(w.groupCol)
	key := func(i int) string {
		if col.IsNull(i) {
			return ""
		}
		v, _, _ := sfText(col, i, nil)
		return v
	}
	slices.SortStableFunc(rows, func(a, c int) int { return cmp.Compare(key(a), key(c)) })
}

// sfDuplicateRe is Salesforce's DUPLICATE_VALUE message: the unique field
// and the record that holds the value already.
var sfDuplicateRe = regexp.MustCompile(`duplicate value found: (\S+) duplicates value on record with id: (\w+)`)

// heldBy reads a DUPLICATE_VALUE error: whether the duplicate is the
// external ID (the record the row's key names exists), and that record's
// ID when the message gives it. A duplicate of another unique field is the
// row's fault: it is rejected.
func (w *sfWriter) heldBy(msg string, fields []string) (id string, held bool) {
	m := sfDuplicateRe.FindStringSubmatch(msg)
	switch {
	case m != nil && strings.EqualFold(m[1], w.ext):
		held = true
	case len(fields) == 1 && strings.EqualFold(fields[0], w.ext):
		held = true
	}
	if held && m != nil && m[2] != "unknown" {
		id = m[2]
	}
	return id, held
}

// resolveIDs makes sure every row addressed by record ID has one: the
// state's, else a SOQL query by the external ID. A row Salesforce has no
// record for is done (a delete), not held (mode update), or rejected.
func (w *sfWriter) resolveIDs(ctx context.Context, b Batch, p sfPlan, rows []int, ids []string, out *sfOutcome) ([]int, error) {
	var ready, unknown []int
	keys := map[int]string{}
	col := b.Record.Column(w.extCol)
	for _, r := range rows {
		if ids[r] != "" {
			ready = append(ready, r)
			continue
		}
		k, null, err := sfText(col, r, nil)
		if err != nil || null {
			if out.reject(r, 0, fmt.Sprintf("the external ID %s is empty or unreadable: the record cannot be found", w.ext)) {
				return nil, errSFStop
			}
			continue
		}
		keys[r] = k
		unknown = append(unknown, r)
	}
	const perQuery = 100 // keeps the query URL well under Salesforce's 16,384 characters
	for start := 0; start < len(unknown); start += perQuery {
		chunk := unknown[start:min(start+perQuery, len(unknown))]
		lits := make([]string, len(chunk))
		for k, r := range chunk {
			lits[k] = soqlQuote(keys[r])
		}
		q := fmt.Sprintf("SELECT Id, %s FROM %s WHERE %s IN (%s)", w.ext, w.object, w.ext, strings.Join(lits, ", "))
		var ans struct {
			Records []map[string]any `json:"records"`
		}
		if _, err := w.api.json(ctx, sfRequest{method: http.MethodGet, path: "/query?q=" + url.QueryEscape(q)}, &ans); err != nil {
			return nil, fmt.Errorf("look up record IDs by %s: %w", w.ext, err)
		}
		found := map[string]string{}
		for _, rec := range ans.Records {
			id, _ := rec["Id"].(string)
			for k, v := range rec {
				if strings.EqualFold(k, w.ext) {
					found[strings.ToLower(fmt.Sprint(v))] = id
				}
			}
		}
		for _, r := range chunk {
			id := found[strings.ToLower(keys[r])]
			switch {
			case id != "":
				ids[r] = id
				out.learn(r, id)
				ready = append(ready, r)
			case p.op == "delete" || p.op == "hardDelete" || p.clear:
				// gone already
			case b.Op == OpUpdate:
				out.book(&out.notHeld, r)
			default:
				if out.reject(r, 0, "no record has this external ID") {
					return nil, errSFStop
				}
			}
		}
	}
	slices.Sort(ready)
	return ready, nil
}

// soqlQuote is a SOQL string literal.
func soqlQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`, "\r", `\r`, "\t", `\t`)
	return "'" + r.Replace(s) + "'"
}
