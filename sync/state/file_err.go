package state

import (
	"errors"
	"fmt"
	"io/fs"
)

// fileErr names path in err, unless err already does: an *os.File's own
// errors are *fs.PathError values that say "write X: …", and wrapping
// them again printed "write X: write X: no space left on device".
func fileErr(op, path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == path {
		return err
	}
	return fmt.Errorf("%s %s: %w", op, path, err)
}
