package filefmt

import (
	"fmt"
	"path/filepath"
)

// ObjectPath returns the file a files destination writes for object inside
// the connection's folder dir, and its format: format is the destination's
// (or else the connection's) format, "" to take it from the object's
// extension; an object without an extension gets the format's. The files
// destination writes there and --refresh reads the same file back.
func ObjectPath(dir, object, format string) (string, string, error) {
	if object == "" {
		return "", "", fmt.Errorf("object is required")
	}
	if !filepath.IsLocal(object) {
		return "", "", fmt.Errorf("object %q must be a file name inside the connection's folder", object)
	}
	extFormat := FromExt(object)
	if format == "" {
		format = extFormat
	}
	if err := Check(format); err != nil {
		return "", "", fmt.Errorf("object %s: %w", object, err)
	}
	switch {
	case extFormat == "":
		object += Ext(format)
	case extFormat != format:
		return "", "", fmt.Errorf("object %s has a %s extension but the format is %s", object, extFormat, format)
	}
	return filepath.Join(dir, object), format, nil
}
