package state

import "context"

// JobStore is a Store that keeps, per sync, the asynchronous jobs a
// destination has started and not yet settled (Salesforce Bulk API ingest
// jobs): a job is recorded before its data is uploaded, so that a run
// killed while the job is open or processing leaves its ID behind, and the
// next run reads the job's results instead of uploading the same rows
// again (or aborts a job left half-uploaded). The data is the
// destination's own (opaque to stores); entries are removed once the state
// commit of the run that read the job's results has landed.
type JobStore interface {
	// PutJob records (or replaces) job id of sync.
	PutJob(ctx context.Context, sync, id string, data []byte) error
	// Jobs returns sync's recorded jobs by ID.
	Jobs(ctx context.Context, sync string) (map[string][]byte, error)
	// DeleteJobs forgets jobs of sync; IDs not recorded are ignored.
	DeleteJobs(ctx context.Context, sync string, ids []string) error
}
