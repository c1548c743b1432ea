package diff

import "bytes"

// ChangedFields calls fn, in name order, with the name of every field whose
// value differs between two encoded rows: the snapshot's (old) and the
// extracted one (new). Values compare by their encoding, as the diff does
// (a type change is a change); a field only one of the rows has counts as
// changed. name is valid only during the call.
func ChangedFields(old, new []byte, fn func(name []byte)) error {
	a, b := &reader{b: old}, &reader{b: new}
	na, err := a.uvarint()
	if err != nil {
		return err
	}
	nb, err := b.uvarint()
	if err != nil {
		return err
	}
	var ka, kb, va, vb []byte
	next := func(r *reader, left *uint64) (name, val []byte, ok bool, err error) {
		if *left == 0 {
			return nil, nil, false, nil
		}
		*left--
		if name, err = r.bytes(); err != nil {
			return nil, nil, false, err
		}
		start := r.b
		if _, err = r.value(); err != nil {
			return nil, nil, false, err
		}
		return name, start[:len(start)-len(r.b)], true, nil
	}
	ka, va, okA, err := next(a, &na)
	if err != nil {
		return err
	}
	kb, vb, okB, err := next(b, &nb)
	if err != nil {
		return err
	}
	for okA || okB {
		c := 0
		switch {
		case !okA:
			c = 1
		case !okB:
			c = -1
		default:
			c = bytes.Compare(ka, kb)
		}
		switch {
		case c < 0:
			fn(ka)
		case c > 0:
			fn(kb)
		case !bytes.Equal(va, vb):
			fn(kb)
		}
		if c <= 0 {
			if ka, va, okA, err = next(a, &na); err != nil {
				return err
			}
		}
		if c >= 0 {
			if kb, vb, okB, err = next(b, &nb); err != nil {
				return err
			}
		}
	}
	return nil
}
