package load

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	stdsync "sync"
)

// Kill safety for Bulk jobs. Each job is recorded in the state's journal
// (Target.Jobs) right after it is created, before its data is uploaded.
// When the writer opens, it resumes the jobs an earlier run left: one
// still Open (the run died mid-upload) is aborted; one closed is awaited
// and its results are read. A row this run would send that such a job
// already took, with the same values, is booked from that job's result
// (delivered with its record ID, or rejected with its error) instead of
// being uploaded again. Entries are forgotten, and the jobs deleted in
// Salesforce, once the state commit of the run that booked them has
// landed (Settled): a kill before then leaves them for the next run.

// sfJobEntry is what the journal keeps of a job.
type sfJobEntry struct {
	ID     string `json:"id"`
	Object string `json:"object"`
	Op     string `json:"operation"`
	Ident  string `json:"ident"` // the column its results name records by
}

// sfRecovered is one record an earlier run's job took.
type sfRecovered struct {
	digest uint64
	id     string
	err    string // sf__Error of a failed record; "" for a success
}

type sfJobs struct {
	journal JobJournal
	mu      stdsync.Mutex
	settled []string                // jobs booked by this run (or aborted)
	got     map[string]*sfRecovered // op\x00ident → the earlier job's result
	claimed int
}

func newSFJobs(j JobJournal) *sfJobs { return &sfJobs{journal: j, got: map[string]*sfRecovered{}} }

func (j *sfJobs) record(ctx context.Context, e sfJobEntry) error {
	if j.journal == nil {
		return nil
	}
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return j.journal.PutJob(ctx, e.ID, data)
}

// done marks a job booked (or aborted): forgotten once the run commits.
func (j *sfJobs) done(id string) {
	j.mu.Lock()
	j.settled = append(j.settled, id)
	j.mu.Unlock()
}

// recover resumes the jobs of earlier runs of this sync.
func (j *sfJobs) recover(ctx context.Context, w *sfWriter) error {
	if j.journal == nil {
		return nil
	}
	entries, err := j.journal.Jobs(ctx)
	if err != nil {
		return err
	}
	for id, data := range entries {
		var e sfJobEntry
		if err := json.Unmarshal(data, &e); err != nil || e.ID != id {
			w.target.Log().Warn("salesforce: a recorded job does not parse; forgotten", "job", id)
			j.done(id)
			continue
		}
		if !strings.EqualFold(e.Object, w.object) {
			continue // another object's: the sync's destination changed
		}
		var info sfJobInfo
		resp, err := w.api.json(ctx, sfRequest{method: http.MethodGet, path: "/jobs/ingest/" + id}, &info)
		if resp != nil && resp.Status == http.StatusNotFound {
			j.done(id) // deleted in Salesforce (jobs are kept 7 days)
			continue
		}
		if err != nil {
			return fmt.Errorf("job %s: %w", id, err)
		}
		if info.State == "Open" {
			w.target.Log().Info("salesforce: aborting a job an earlier run left half-uploaded", "job", id)
			w.abortJob(ctx, id)
			continue
		}
		w.target.Log().Info("salesforce: reading the results of a job an earlier run left", "job", id, "state", info.State)
		fin, err := w.await(ctx, id)
		if err != nil {
			return err
		}
		n := 0
		keep := func(ident, rid, sfErr string, digest uint64) {
			if code, _ := splitSFError(sfErr); sfErr != "" && code == "UNABLE_TO_LOCK_ROW" {
				return // transient: send it again
			}
			j.got[e.Op+"\x00"+ident] = &sfRecovered{digest: digest, id: rid, err: sfErr} // the key is a new string; rid and sfErr are clones
			n++
		}
		if err := w.readResults(ctx, id, "successfulResults", e.Ident, keep); err != nil {
			return err
		}
		if err := w.readResults(ctx, id, "failedResults", e.Ident, keep); err != nil {
			return err
		}
		w.target.Log().Info("salesforce: results of an earlier run's job read", "job", id, "state", fin.State, "records", n)
		j.done(id)
	}
	return nil
}

// claim books the rows an earlier run's job already took with the same
// values and returns the others, to be sent.
func (j *sfJobs) claim(w *sfWriter, b Batch, p sfPlan, rows []int, ids []string, out *sfOutcome) []int {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.got) == 0 {
		return rows
	}
	keep := rows[:0:0]
	for _, r := range rows {
		key := p.op + "\x00" + w.identOf(b, p, r, ids)
		rec := j.got[key]
		if rec == nil {
			keep = append(keep, r)
			continue
		}
		d, err := w.rowDigest(b, p, r, ids)
		if err != nil || d != rec.digest {
			keep = append(keep, r) // changed since: send it
			continue
		}
		delete(j.got, key)
		j.claimed++
		if rec.err == "" {
			out.learn(r, rec.id)
			continue
		}
		code, msg := splitSFError(rec.err)
		j.mu.Unlock()
		w.recordError(p, out, r, code, w.api.scrub.String(msg), nil)
		j.mu.Lock()
	}
	return keep
}

// settle forgets the jobs this run booked and deletes them in Salesforce
// (their data and results are kept there otherwise for seven days).
func (j *sfJobs) settle(ctx context.Context, w *sfWriter) error {
	j.mu.Lock()
	ids := j.settled
	j.settled = nil
	j.mu.Unlock()
	if len(ids) == 0 {
		return nil
	}
	for _, id := range ids {
		resp, err := w.api.do(ctx, sfRequest{method: http.MethodDelete, path: "/jobs/ingest/" + id})
		if err == nil && resp.Status >= 300 && resp.Status != http.StatusNotFound {
			w.target.Log().Debug("salesforce: delete job", "job", id, "status", resp.Status)
		}
	}
	if j.journal == nil {
		return nil
	}
	return j.journal.DeleteJobs(ctx, ids)
}
