package state

// What the conformance tests (package state_test, which can import
// statetest) reach inside this package.

// SetCrashHook arms the file store's crash points (see crashPoint).
func SetCrashHook(f func(stage string)) { crashHook = f }

// PostgresLockBackend is the server pid of the session holding s's lock on
// sync, if s is a postgres store that locked it.
func PostgresLockBackend(s Store, sync string) (int32, bool) {
	ps, ok := s.(*pgStore)
	if !ok {
		return 0, false
	}
	h, ok := ps.locks.get(sync)
	return h.backend, ok
}
