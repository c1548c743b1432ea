package spec

import "encoding/json"

// Secret is a string that never prints: fmt, %v, slog and encoding/json all
// see "****". Call Reveal only where the value is handed to a driver.
type Secret string

const masked = "****"

// Reveal returns the real value.
func (s Secret) Reveal() string { return string(s) }

// String masks the value.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return masked
}

// GoString masks the value for %#v.
func (s Secret) GoString() string { return s.String() }

// MarshalJSON masks the value.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MarshalText masks the value (slog's text handler uses it).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
