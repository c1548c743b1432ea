package load

import "context"

// Asynchronous destinations (Salesforce's Bulk API) take rows as jobs that
// run on the server after hoist uploads them. A kill while a job is open or
// processing must not make the next run upload the same rows again: the
// writer records each job in the state before uploading its data
// (JobJournal), the next run reads a finished job's results instead, and
// the records are forgotten once a run that read them has committed its
// state (Settler).

// JobJournal keeps one sync's unsettled jobs in the state store.
type JobJournal interface {
	PutJob(ctx context.Context, id string, data []byte) error
	Jobs(ctx context.Context) (map[string][]byte, error)
	DeleteJobs(ctx context.Context, ids []string) error
}

// Settler is a Writer told, after the state commit of its run has landed,
// that the jobs whose results the run booked can be forgotten.
type Settler interface {
	Settled(ctx context.Context) error
}
