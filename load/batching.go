package load

// BatchLimits is how large a destination wants its batches when a sync sets
// no batch_size: a batch is cut at Rows rows or once its rows reach about
// Bytes bytes, whichever comes first. A database pays one round trip and one
// commit per batch, so it wants batches of megabytes; an HTTP API pays per
// request and caps the records one request may carry, so it wants few rows.
type BatchLimits struct {
	Rows  int // most rows per batch; at least 1
	Bytes int // rough bytes per batch (0: rows alone decide)
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

// LimitsOf returns the batch limits of w, or DefaultBatchLimits.
func LimitsOf(w Writer) BatchLimits {
	if s, ok := w.(BatchSizer); ok {
		if l := s.BatchLimits(); l.Rows > 0 {
			return l
		}
	}
	return DefaultBatchLimits
}
