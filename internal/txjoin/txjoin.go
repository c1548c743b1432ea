// Package txjoin lets a destination writer and a state store commit in one
// database transaction (the run's last batch and the state it moves, so both
// land or neither does) while the sync engine between them knows no driver.
//
// Both sides name the database they reach with a Target; the store answers
// whether a writer's Target is its own. The writer then opens the
// transaction and hands it over as a Tx, which the engine carries without
// looking inside and the store unwraps with the driver it shares with the
// writer (internal/pgconn for PostgreSQL).
package txjoin

// Target names a database, never its credentials: two parties whose
// Targets are Equal reach the same database and can share a transaction.
type Target struct {
	driver   string
	host     string
	port     uint16
	database string
}

// NewTarget names database on host:port as reached through driver.
func NewTarget(driver, host string, port uint16, database string) Target {
	return Target{driver: driver, host: host, port: port, database: database}
}

// Equal reports whether t and o reach the same database. The zero Target
// (a party that cannot join) equals nothing, itself included.
func (t Target) Equal(o Target) bool {
	return t.driver != "" && t == o
}

// Tx is a transaction one party opened in Target, handed to the other.
type Tx struct {
	target Target
	raw    any
}

// NewTx wraps a driver's transaction (a pgx.Tx) opened in target.
func NewTx(target Target, raw any) Tx { return Tx{target: target, raw: raw} }

// Target is the database the transaction runs in.
func (t Tx) Target() Target { return t.target }

// Raw is the driver's transaction, for the party that shares the driver.
func (t Tx) Raw() any { return t.raw }
