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
	// ID is the record ID the snapshot keeps beside Old (state.Entry.ID),
	// nil when it keeps none.
	ID []byte
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

// folder reads the sorted extract one key at a time, folding duplicate
// keys (adjacent, in source order): the last wins, or they are an error.
type folder struct {
	ex            *SortedIter
	lastWins      bool
	key, row, aux []byte
}

func (f *folder) next() (bool, error) {
	ex := f.ex
	if !ex.Next() {
		return false, ex.Err()
	}
	f.key = append(f.key[:0], ex.Key()...)
	f.row = append(f.row[:0], ex.Row()...)
	f.aux = append(f.aux[:0], ex.Aux()...)
	for ex.Next() {
		if !bytes.Equal(ex.Key(), f.key) {
			ex.pushBack()
			return true, nil
		}
		if !f.lastWins {
			return false, &DuplicateKeyError{Key: KeyString(f.key)}
		}
		f.row = append(f.row[:0], ex.Row()...)
		f.aux = append(f.aux[:0], ex.Aux()...)
	}
	return true, ex.Err()
}

// Merge walks the sorted extract and the key-ordered snapshot together and
// calls fn once per key. snap may be nil (no snapshot yet).
func Merge(ex *SortedIter, snap state.Iterator, opt MergeOptions, fn func(Event) error) error {
	var (
		haveEx, haveSnap bool
		err              error
		f                = &folder{ex: ex, lastWins: opt.LastWins}
	)
	nextSnap := func() (bool, error) {
		if snap == nil || !snap.Next() {
			if snap == nil {
				return false, nil
			}
			return false, snap.Err()
		}
		return true, nil
	}
	if haveEx, err = f.next(); err != nil {
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
			c = bytes.Compare(f.key, snap.Entry().Key)
		}
		switch {
		case c < 0:
			err = fn(Event{Kind: Add, Key: f.key, New: f.row, Aux: f.aux})
		case c > 0:
			if opt.Removes {
				e := snap.Entry()
				err = fn(Event{Kind: Remove, Key: e.Key, Old: e.Row, ID: e.ID})
			}
		default:
			e := snap.Entry()
			kind := Unchanged
			if !bytes.Equal(f.row, e.Row) {
				kind = Change
			}
			err = fn(Event{Kind: kind, Key: f.key, Old: e.Row, New: f.row, Aux: f.aux, ID: e.ID})
		}
		if err != nil {
			return err
		}
		if c <= 0 {
			if haveEx, err = f.next(); err != nil {
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
