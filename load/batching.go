package load

// BatchLimits is how large a destination wants its batches when a sync sets
// no batch_size: a batch is cut at Rows rows or once its rows reach about
// Bytes bytes, whichever comes first. A database pays one round trip and one
// commit per batch, so it wants batches of megabytes; an HTTP API pays per
// request and caps the records one request may carry, so it wants few rows.
type BatchLimits struct {
	Rows  int // most rows per batch; at least 1
	Bytes int // rough bytes per batch (0: rows alone decide)
	// Start, when set below Rows, is where the diff's batches start: the
	// first round of batches (one per loader) holds at most Start rows, and
	// each round doubles it up to Rows. A few thousand changes are thus
	// spread over every loader rather than sent as one batch, and the first
	// of them load while the diff is still running; a large change set
	// reaches full-size batches within a few rounds.
	Start int
}

// BatchSizer is a Writer that says how large its batches should be.
type BatchSizer interface {
	BatchLimits() BatchLimits
}

// DefaultBatchLimits is for a writer that does not say: the batch size every
// sync had before destinations chose their own.
var DefaultBatchLimits = BatchLimits{Rows: 500}

// databaseBatch suits a database that takes a batch in one COPY, LOAD DATA or
// multi-row statement and one commit: 8 MiB keeps a batch's round trip and
// commit a small share of its time (bench-postgres), and the writer's
// payload buffer per concurrent loader small beside the process.
var databaseBatch = BatchLimits{Rows: 100_000, Bytes: 8 << 20}

// mergeBatch is databaseBatch for a writer that merges each batch through a
// staging table (INSERT … ON CONFLICT, a delete join) on its own
// connection: the server's merge is most of a small run's time, so the
// diff's batches ramp up from 10,000 rows, and a 1% refresh of a large table
// has loaders, and the server's cores, at work while the diff still runs.
// bench-postgres, 20,000 changed rows into 2M, medians of 12 interleaved
// rounds on 2 cores: one batch 0.97 s, ramps from 2,000 rows 0.91 s, 5,000
// 0.86 s, 10,000 0.82 s, psql's floor 0.84 s; smaller batches pay their
// staging table, round trips and commit and contend on the same indexes.
var mergeBatch = BatchLimits{Rows: databaseBatch.Rows, Bytes: databaseBatch.Bytes, Start: 10_000}

// LimitsOf returns the batch limits of w, or DefaultBatchLimits.
func LimitsOf(w Writer) BatchLimits {
	if s, ok := w.(BatchSizer); ok {
		if l := s.BatchLimits(); l.Rows > 0 {
			return l
		}
	}
	return DefaultBatchLimits
}
