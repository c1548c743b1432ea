package diff

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/hoist-dev/hoist/sync/state"
)

// Kind classifies a row against the snapshot.
type Kind uint8

const (
	Add Kind = iota + 1
	Change
	Remove
	Unchanged
)

func (k Kind) String() string {
	switch k {
	case Add:
		return "add"
	case Change:
		return "change"
	case Remove:
		return "remove"
	case Unchanged:
		return "unchanged"
	}
	return "unknown"
}

// Event is one classified key. Old is the snapshot's row (Change, Remove,
// Unchanged), New the extracted one (Add, Change, Unchanged). Slices are valid
// only during the callback.
type Event struct {
	Kind     Kind
	Key      []byte
	Old, New []byte
	// Aux is what the extract side carried with New (its cursor value).
	Aux []byte
}

// MergeOptions tune Merge.
type MergeOptions struct {
	// Removes reports keys in the snapshot but not the extract; only true when
	// the extract is the whole source (no cursor).
	Removes bool
	// LastWins keeps the last of duplicate keys (on_duplicate: last);
	// otherwise a duplicate key is an error naming it.
	LastWins bool
}

// DuplicateKeyError reports a key that appears twice in the source.
type DuplicateKeyError struct{ Key string }

func (e *DuplicateKeyError) Error() string {
	return fmt.Sprintf("duplicate primary key %s in the source (set on_duplicate: last to keep the last row)", e.Key)
}

// KeyString renders an encoded key for messages: "42" or "(a, 7)".
func KeyString(key []byte) string {
	parts, err := DecodeKey(key)
	if err != nil {
		return fmt.Sprintf("%x", key)
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// Merge walks the sorted extract and the key-ordered snapshot together and
// calls fn once per key. snap may be nil (no snapshot yet).
func Merge(ex *SortedIter, snap state.Iterator, opt MergeOptions, fn func(Event) error) error {
	var (
		haveEx, haveSnap bool
		exKey, exRow     []byte
		exAux            []byte
		err              error
	)
	nextEx := func() (bool, error) {
		if !ex.Next() {
			return false, ex.Err()
		}
		exKey = append(exKey[:0], ex.Key()...)
		exRow = append(exRow[:0], ex.Row()...)
		exAux = append(exAux[:0], ex.Aux()...)
		// fold duplicates: they are adjacent, in source order
		for ex.Next() {
			if !bytes.Equal(ex.Key(), exKey) {
				ex.pushBack()
				return true, nil
			}
			if !opt.LastWins {
				return false, &DuplicateKeyError{Key: KeyString(exKey)}
			}
			exRow = append(exRow[:0], ex.Row()...)
			exAux = append(exAux[:0], ex.Aux()...)
		}
		return true, ex.Err()
	}
	nextSnap := func() (bool, error) {
		if snap == nil || !snap.Next() {
			if snap == nil {
				return false, nil
			}
			return false, snap.Err()
		}
		return true, nil
	}
	if haveEx, err = nextEx(); err != nil {
		return err
	}
	if haveSnap, err = nextSnap(); err != nil {
		return fmt.Errorf("read snapshot: %w", err)
	}
	for haveEx || haveSnap {
		var c int
		switch {
		case !haveSnap:
			c = -1
		case !haveEx:
			c = 1
		default:
			c = bytes.Compare(exKey, snap.Entry().Key)
		}
		switch {
		case c < 0:
			err = fn(Event{Kind: Add, Key: exKey, New: exRow, Aux: exAux})
		case c > 0:
			if opt.Removes {
				e := snap.Entry()
				err = fn(Event{Kind: Remove, Key: e.Key, Old: e.Row})
			}
		default:
			e := snap.Entry()
			kind := Unchanged
			if !bytes.Equal(exRow, e.Row) {
				kind = Change
			}
			err = fn(Event{Kind: kind, Key: exKey, Old: e.Row, New: exRow, Aux: exAux})
		}
		if err != nil {
			return err
		}
		if c <= 0 {
			if haveEx, err = nextEx(); err != nil {
				return err
			}
		}
		if c >= 0 {
			if haveSnap, err = nextSnap(); err != nil {
				return fmt.Errorf("read snapshot: %w", err)
			}
		}
	}
	return nil
}
