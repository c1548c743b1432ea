package cli

// DefaultParallel is how many syncs `run` and `plan` work on at once
// without --parallel.
const DefaultParallel = 4
