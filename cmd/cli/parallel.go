package cli

// DefaultParallel is how many syncs `run` and `plan` work on at once
// without --parallel. A fixed number rather than one derived from the
// cores: a sync mostly waits on the systems at both ends (queries, API
// round trips, fsyncs), so what bounds useful parallelism is what those
// systems take (connections, rate limits), not the local CPUs, and a pod
// often sees a whole node's cores. 4 keeps the connections a spec can open
// at once (each sync opens its own source and destination) within what a
// default PostgreSQL or an API allows, as dbt's default of 4 threads does;
// more is one flag away.
const DefaultParallel = 4
