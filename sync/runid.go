package sync

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"
)

// newRunID names one run of one sync: its start time, readable and in
// order, and random bits so two runners started in the same second differ.
func newRunID(start time.Time) string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		// crypto/rand does not fail on supported platforms; the time alone
		// still tells runs apart in practice
		return start.UTC().Format("20060102T150405.000Z")
	}
	return start.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// tooManyRejected is the error of a run past on_reject.max_rejected.
func tooManyRejected(rejected, limit int64) error {
	return fmt.Errorf("%w: %d rows rejected, more than on_reject.max_rejected %d", errTooManyRejected, rejected, limit)
}
