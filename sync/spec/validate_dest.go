package spec

import (
	"fmt"
)

// MaxConcurrency bounds every concurrency knob: past it a typo (an extra few
// zeros) would start millions of loaders instead of failing here.
const MaxConcurrency = 1024

func validatePrimaryKey(pk []string, p string, bad func(string, string, ...any)) {
	seen := map[string]bool{}
	for i, k := range pk {
		q := fmt.Sprintf("%s[%d]", p, i)
		switch {
		case k == "":
			bad(q, "primary key column is empty")
		case seen[k]:
			bad(q, "column %q is in the primary key twice", k)
		}
		seen[k] = true
	}
}

// sharedObjects warns about syncs that write one destination object: each
// diffs against its own snapshot, so they overwrite each other's rows, and a
// mirror or replace deletes the other's.
func (f *File) sharedObjects() []*Problem {
	var warns []*Problem
	first := map[string]*Sync{}
	for _, s := range f.Syncs {
		if s == nil {
			continue
		}
		key, ok := f.objectKey(&s.Destination)
		if !ok {
			continue
		}
		if o := first[key]; o != nil {
			field := s.Field() + ".destination.object"
			warns = append(warns, f.Problem(field,
				"sync %q writes the same object as sync %q (%s): each diffs against its own snapshot, so they overwrite each other's rows (and mirror or replace delete them)",
				s.Name, o.Name, o.Field()))
			continue
		}
		first[key] = s
	}
	return warns
}

// objectKey names what a destination writes, the same for two spellings
// of one object.
func (f *File) objectKey(d *Dest) (string, bool) {
	c := f.Connections[d.Connection]
	k := f.connectorOf(d.Connection)
	if c == nil || k == nil || k.Dest == nil || d.Object == "" || d.Config == nil {
		return "", false
	}
	obj := d.Object
	if k.Dest.ObjectKey != nil {
		obj = k.Dest.ObjectKey(c.Config, d.Config, obj)
	}
	return d.Connection + "\x00" + obj, true
}

// DestinationKey names the object a sync writes (its connection and the
// object as its connector spells it), the same for two spellings of one
// object; false when the connector cannot tell.
func (f *File) DestinationKey(s *Sync) (string, bool) { return f.objectKey(&s.Destination) }
