package load

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"slices"
	"strings"
	stdsync "sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/hoist-dev/hoist/internal/httpkit"
)

// Bulk API 2.0 ingest: for each job, create it (recorded in the state
// before anything is uploaded), stream the rows as CSV into its one upload
// until the next row would pass job_size_mb (the rest go to the next job),
// count it against the Bulk limits, close it (UploadComplete); then poll
// every job with backoff until it ends and read its results.

// sfJobInfo is a job's JobInfo.
type sfJobInfo struct {
	ID                     string `json:"id"`
	State                  string `json:"state"`
	Object                 string `json:"object"`
	Operation              string `json:"operation"`
	ErrorMessage           string `json:"errorMessage"`
	NumberRecordsProcessed int64  `json:"numberRecordsProcessed"`
	NumberRecordsFailed    int64  `json:"numberRecordsFailed"`
}

// sfSent is one job of this run: its rows, by the text of their ident.
type sfSent struct {
	id    string
	rows  map[string]int
	order []int
}

func (w *sfWriter) bulk(ctx context.Context, b Batch, p sfPlan, rows []int, ids []string, out *sfOutcome) error {
	hdr := w.header(b, p, rows)
	var sent []*sfSent
	for start := 0; start < len(rows); {
		if stopRejecting(b, 0) {
			return errSFStop
		}
		info, err := w.createJob(ctx, p)
		if err != nil {
			return err
		}
		t0 := time.Now()
		n, skipped, err := w.upload(ctx, info.ID, b, p, hdr, rows[start:], ids)
		w.target.Log().Debug("salesforce: job uploaded", "job", info.ID, "rows", n, "duration_ms", time.Since(t0).Milliseconds())
		if err != nil {
			w.abortJob(ctx, info.ID)
			return err
		}
		job := &sfSent{id: info.ID, rows: map[string]int{}}
		for _, r := range rows[start : start+n] {
			if why, bad := skipped[r]; bad {
				if errors.Is(why, errSFCarriageReturn) {
					out.book(&out.rest, r) // sent through collections once the jobs are done
					continue
				}
				if out.reject(r, 0, why.Error()) {
					w.abortJob(ctx, info.ID)
					return errSFStop
				}
				continue
			}
			job.rows[w.identOf(b, p, r, ids)] = r
			job.order = append(job.order, r)
		}
		start += n
		if len(job.order) == 0 {
			w.abortJob(ctx, info.ID)
			continue
		}
		if err := w.spendBulk(ctx, len(job.order)); err != nil {
			w.abortJob(ctx, info.ID)
			return err
		}
		if _, err := w.api.json(ctx, sfRequest{method: http.MethodPatch, path: "/jobs/ingest/" + info.ID, contentType: "application/json",
			body: []byte(`{"state":"UploadComplete"}`)}, nil); err != nil {
			w.abortJob(ctx, info.ID)
			return fmt.Errorf("close job %s: %w", info.ID, err)
		}
		sent = append(sent, job)
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, job := range sent {
		g.Go(func() error {
			t0 := time.Now()
			info, err := w.await(gctx, job.id)
			if err != nil {
				return err
			}
			t1 := time.Now()
			err = w.bookJob(gctx, p, info, job, out)
			w.target.Log().Debug("salesforce: job done", "job", job.id, "state", info.State, "wait_ms", t1.Sub(t0).Milliseconds(), "results_ms", time.Since(t1).Milliseconds())
			return err
		})
	}
	return g.Wait()
}

// header is the job's columns: Id (by record ID), then the planned
// columns any of the rows sends (patch: changed sends the union of the
// changed fields; a row's other cells stay empty, which Salesforce leaves
// alone).
func (w *sfWriter) header(b Batch, p sfPlan, rows []int) []int {
	if p.op == "delete" || p.op == "hardDelete" {
		return nil
	}
	use := make([]bool, b.Record.Schema().NumFields())
	if p.clear {
		for _, c := range p.cols {
			use[c] = true
		}
	}
	for _, r := range rows {
		if p.clear {
			break
		}
		if w.app.Patch != "changed" || r >= len(b.Changed) || b.Changed[r] == nil {
			for _, c := range p.cols {
				use[c] = true
			}
			break
		}
		for _, c := range b.Changed[r] {
			use[c] = true
		}
	}
	var out []int
	for _, c := range p.cols {
		if use[c] || (c == w.extCol && !p.byID) {
			out = append(out, c)
		}
	}
	return out
}

// identOf is the text a result row names row r by: its record ID, or its
// external ID as the CSV carries it.
func (w *sfWriter) identOf(b Batch, p sfPlan, r int, ids []string) string {
	if p.byID {
		return ids[r]
	}
	v, _, _ := sfText(b.Record.Column(w.extCol), r, nil)
	return v
}

func (w *sfWriter) createJob(ctx context.Context, p sfPlan) (*sfJobInfo, error) {
	req := map[string]string{"object": w.object, "operation": p.op, "contentType": "CSV", "lineEnding": "LF", "columnDelimiter": "COMMA"}
	if p.op == "upsert" {
		req["externalIdFieldName"] = w.ext
	}
	body, _ := json.Marshal(req)
	var info sfJobInfo
	if _, err := w.api.json(ctx, sfRequest{method: http.MethodPost, path: "/jobs/ingest", body: body, contentType: "application/json"}, &info); err != nil {
		return nil, fmt.Errorf("create a Bulk API %s job: %w", p.op, err)
	}
	if info.ID == "" {
		return nil, errors.New("create a Bulk API job: the answer names no job ID")
	}
	// before anything is uploaded: a kill from here on leaves the job's ID
	// for the next run to abort or read
	if err := w.jobs.record(ctx, sfJobEntry{ID: info.ID, Object: w.object, Op: p.op, Ident: p.ident(w)}); err != nil {
		w.abortJob(ctx, info.ID)
		return nil, fmt.Errorf("record job %s in the state: %w", info.ID, err)
	}
	return &info, nil
}

// abortJob aborts a job this run will not finish (best effort: a job left
// Open is aborted by the next run, which finds it recorded).
func (w *sfWriter) abortJob(ctx context.Context, id string) {
	ctx = context.WithoutCancel(ctx)
	if _, err := w.api.json(ctx, sfRequest{method: http.MethodPatch, path: "/jobs/ingest/" + id, contentType: "application/json",
		body: []byte(`{"state":"Aborted"}`)}, nil); err != nil {
		w.target.Log().Warn("salesforce: abort job", "job", id, "error", err)
		return
	}
	w.jobs.done(id)
}

// upload streams rows into the job's one upload, stopping before the row
// that would pass job_size_mb. It returns how many rows it took (those it
// could not encode are in skipped, with why). Each attempt encodes the
// rows again, so a retried upload sends the same bytes and takes the
// same rows.
func (w *sfWriter) upload(ctx context.Context, id string, b Batch, p sfPlan, hdr []int, rows []int, ids []string) (int, map[int]error, error) {
	type tally struct {
		n       int
		skipped map[int]error
	}
	var (
		mu      stdsync.Mutex
		wg      stdsync.WaitGroup
		last    tally
		attempt int
	)
	stream := func() io.Reader {
		pr, pw := io.Pipe()
		mu.Lock()
		attempt++
		mine := attempt
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := tally{skipped: map[int]error{}}
			bw := bufio.NewWriterSize(pw, 256<<10)
			line := w.headerLine(nil, p, hdr)
			size := len(line)
			_, err := bw.Write(line)
			for k, r := range rows {
				if err != nil {
					break
				}
				var bad error
				line, bad = w.appendLine(line[:0], b, p, hdr, r, ids)
				if bad != nil {
					t.skipped[r] = bad
					t.n = k + 1
					continue
				}
				if size+len(line) > w.jobBytes && t.n > 0 {
					break
				}
				size += len(line)
				_, err = bw.Write(line)
				t.n = k + 1
			}
			if err == nil {
				err = bw.Flush()
			}
			mu.Lock()
			if mine == attempt {
				last = t
			}
			mu.Unlock()
			pw.CloseWithError(err)
		}()
		return pr
	}
	resp, err := w.api.do(ctx, sfRequest{method: http.MethodPut, path: "/jobs/ingest/" + id + "/batches", stream: stream, contentType: "text/csv"})
	wg.Wait() // the transport has closed every attempt's reader: each encoder has stopped
	if err != nil {
		return 0, nil, fmt.Errorf("upload job %s: %w", id, err)
	}
	switch {
	case resp.Status == http.StatusCreated || resp.Status == http.StatusOK:
	case resp.Status == http.StatusBadRequest && strings.Contains(string(resp.Body), "multiple contents"):
		// a retried upload whose first attempt landed: the same bytes
	default:
		return 0, nil, fmt.Errorf("upload job %s: %w", id, w.api.statusError(sfRequest{method: http.MethodPut, path: "/jobs/ingest/" + id + "/batches"}, resp))
	}
	if last.skipped == nil {
		return 0, nil, fmt.Errorf("upload job %s: the upload ended before its data was encoded", id)
	}
	return last.n, last.skipped, nil
}

// headerLine is the CSV header.
func (w *sfWriter) headerLine(dst []byte, p sfPlan, hdr []int) []byte {
	sep := false
	if p.byID {
		dst = append(dst, "Id"...)
		sep = true
	}
	for _, c := range hdr {
		if sep {
			dst = append(dst, ',')
		}
		dst = appendCSV(dst, w.colName(p, c))
		sep = true
	}
	return append(dst, '\n')
}

// appendLine appends row r's CSV line: NULLs to clear as #N/A, fields to
// leave alone as empty cells.
func (w *sfWriter) appendLine(dst []byte, b Batch, p sfPlan, hdr []int, r int, ids []string) ([]byte, error) {
	sep := false
	if p.byID {
		dst = appendCSV(dst, ids[r])
		sep = true
	}
	for _, c := range hdr {
		if sep {
			dst = append(dst, ',')
		}
		sep = true
		v, kind, err := w.cell(b, p, r, c)
		if err != nil {
			return dst, err
		}
		switch kind {
		case sfCellValue:
			if strings.IndexByte(v, '\r') >= 0 {
				return dst, fmt.Errorf("field %s: %w", w.colName(p, c), errSFCarriageReturn)
			}
			if v == sfClear {
				return dst, fmt.Errorf("field %s: the value %s is how a Bulk API CSV empties a field, so it cannot be sent as text", w.colName(p, c), sfClear)
			}
			dst = appendCSV(dst, v)
		case sfCellClear:
			dst = append(dst, sfClear...)
		}
	}
	return append(dst, '\n'), nil
}

// errSFCarriageReturn marks a row with a carriage return in a value: it
// cannot go into a job's CSV, whose lineEnding is LF. Salesforce reads the
// line breaks of text area values by the job's lineEnding, and a CR in the
// data of an LF job fails the whole job ("ClientInputError : LineEnding is
// invalid on user data"), leaving every row of it unprocessed; JSON
// carries the value exactly, so such a row goes through sObject
// Collections instead.
var errSFCarriageReturn = errors.New("a carriage return cannot be sent in a Bulk API job with LF line endings")

// appendCSV appends a CSV field, quoted when it must be (RFC 4180, as the
// Bulk API reads it).
func appendCSV(dst []byte, s string) []byte {
	if !strings.ContainsAny(s, ",\"\n\r") && (s == "" || (s[0] != ' ' && s[len(s)-1] != ' ')) {
		return append(dst, s...)
	}
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			dst = append(dst, '"')
		}
		dst = append(dst, s[i])
	}
	return append(dst, '"')
}

// await polls a job until it ends: every poll_interval at first, half as
// long again each time, but never more than a quarter of the time waited
// so far (so a job is seen done at most a quarter late) nor 30 s.
func (w *sfWriter) await(ctx context.Context, id string) (*sfJobInfo, error) {
	wait := w.conn.Poll()
	began := time.Now()
	for {
		var info sfJobInfo
		if _, err := w.api.json(ctx, sfRequest{method: http.MethodGet, path: "/jobs/ingest/" + id}, &info); err != nil {
			return nil, fmt.Errorf("poll job %s: %w", id, err)
		}
		switch info.State {
		case "JobComplete", "Failed", "Aborted":
			return &info, nil
		case "Open", "UploadComplete", "InProgress":
		default:
			return nil, fmt.Errorf("job %s is in state %q, which the Bulk API does not document", id, info.State)
		}
		if err := (httpkit.SystemClock{}).Sleep(ctx, wait); err != nil {
			return nil, err
		}
		wait = min(wait*3/2, max(time.Since(began)/4, w.conn.Poll()), 30*time.Second)
	}
}

// bookJob reads a finished job's results: successful records give their
// record IDs, failed ones are rejected (or retried, for a lock), and
// records in neither (unprocessed: the job failed or was aborted before
// them) stay pending.
func (w *sfWriter) bookJob(ctx context.Context, p sfPlan, info *sfJobInfo, job *sfSent, out *sfOutcome) error {
	if info.State != "JobComplete" {
		w.target.Log().Warn("salesforce: a Bulk API job did not complete; its unprocessed records stay pending for the next run",
			"job", info.ID, "state", info.State, "error", w.api.scrub.String(info.ErrorMessage))
	}
	done := map[int]bool{}
	stop := false
	err := w.readResults(ctx, info.ID, "successfulResults", p.ident(w), func(ident, id, _ string, _ uint64) {
		if r, ok := job.rows[ident]; ok && !done[r] {
			done[r] = true
			out.learn(r, id)
		}
	})
	if err != nil {
		return err
	}
	err = w.readResults(ctx, info.ID, "failedResults", p.ident(w), func(ident, _, sfErr string, _ uint64) {
		if r, ok := job.rows[ident]; ok && !done[r] {
			done[r] = true
			code, msg := splitSFError(sfErr)
			if w.recordError(p, out, r, code, w.api.scrub.String(msg), nil) {
				stop = true
			}
		}
	})
	if err != nil {
		return err
	}
	if info.State != "JobComplete" {
		// read what the job left, as documented; rows in no result set are
		// pending whatever it says
		if err := w.readResults(ctx, info.ID, "unprocessedrecords", p.ident(w), func(string, string, string, uint64) {}); err != nil {
			return err
		}
	}
	for _, r := range job.order {
		if !done[r] {
			out.book(&out.pending, r)
		}
	}
	w.jobs.done(info.ID)
	if stop {
		return errSFStop
	}
	return nil
}

// splitSFError splits an sf__Error ("CODE:message:fields --").
func splitSFError(s string) (code, msg string) {
	code, msg, ok := strings.Cut(s, ":")
	if !ok {
		return "UNKNOWN_EXCEPTION", s
	}
	msg = strings.TrimSuffix(strings.TrimSpace(msg), "--")
	if i := strings.LastIndex(msg, ":"); i >= 0 {
		msg = msg[:i]
	}
	return code, strings.TrimSpace(msg)
}

// readResults streams one of a job's result CSVs, calling fn for each row
// with its ident column's text, sf__Id, sf__Error and the digest of its
// data cells (what recovery compares a re-sent row with).
func (w *sfWriter) readResults(ctx context.Context, job, kind, ident string, fn func(ident, id, sfErr string, digest uint64)) error {
	return w.api.stream(ctx, "/jobs/ingest/"+job+"/"+kind+"/", func(r io.Reader) error {
		cr := csv.NewReader(r)
		cr.ReuseRecord = true
		cr.FieldsPerRecord = -1
		head, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s of job %s: %w", kind, job, err)
		}
		head = slices.Clone(head)
		identCol, idCol, errCol := -1, -1, -1
		var data []int
		for i, h := range head {
			switch {
			case h == "sf__Id":
				idCol = i
			case h == "sf__Error":
				errCol = i
			case strings.HasPrefix(h, "sf__"):
			default:
				data = append(data, i)
				if strings.EqualFold(h, ident) {
					identCol = i
				}
			}
		}
		if identCol < 0 {
			return fmt.Errorf("read %s of job %s: no %s column to match records by", kind, job, ident)
		}
		for {
			rec, err := cr.Read()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("read %s of job %s: %w", kind, job, err)
			}
			var id, sfErr string
			if idCol >= 0 && idCol < len(rec) {
				id = rec[idCol]
			}
			if errCol >= 0 && errCol < len(rec) {
				sfErr = rec[errCol]
			}
			// csv's fields share one string per line: a kept sf__Id would
			// keep its whole line (every field) alive
			fn(rec[identCol], strings.Clone(id), strings.Clone(sfErr), cellsDigest(head, rec, data))
		}
	})
}

// cellsDigest fingerprints a CSV row's non-empty cells by column name, in
// no particular order: the same row encoded under another header (another
// job's union of changed fields) has the same digest.
func cellsDigest(head, rec []string, cols []int) uint64 {
	var sum uint64
	for _, i := range cols {
		if i >= len(rec) || rec[i] == "" {
			continue
		}
		sum += pairHash(head[i], rec[i])
	}
	return sum
}

func pairHash(name, v string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(strings.ToLower(name)))
	h.Write([]byte{0})
	h.Write([]byte(v))
	x := h.Sum64()
	// mix, so that sums of pairs do not cancel out
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	return x
}

// rowDigest is cellsDigest of row r as appendLine would encode it.
func (w *sfWriter) rowDigest(b Batch, p sfPlan, r int, ids []string) (uint64, error) {
	var sum uint64
	if p.byID {
		sum += pairHash("Id", ids[r])
	}
	for _, c := range w.header(b, p, []int{r}) {
		v, kind, err := w.cell(b, p, r, c)
		if err != nil {
			return 0, err
		}
		switch kind {
		case sfCellValue:
			sum += pairHash(w.colName(p, c), v)
		case sfCellClear:
			sum += pairHash(w.colName(p, c), sfClear)
		}
	}
	return sum, nil
}
