package spec

// validateDiff checks the diff key: the warehouse diff runs its query in a
// PostgreSQL source, over the whole source, for a keyed mode.
func (f *File) validateDiff(s *Sync, sc *Connection, p string, bad func(string, string, ...any)) {
	switch s.Diff {
	case "", DiffClient:
		return
	case DiffWarehouse:
	default:
		bad(p+".diff", "unknown diff %q (want client or warehouse)", s.Diff)
		return
	}
	if sc != nil && sc.Type != "postgres" {
		bad(p+".diff", "diff: warehouse needs a postgres source (the snapshot and the diff query live in the source database); %s is %s", s.Source.Connection, sc.Type)
	}
	if !KeyNeeded(s.Destination.Mode) && s.Destination.Mode != "" {
		bad(p+".diff", "diff: warehouse needs a keyed mode (insert, update, upsert, mirror); mode %s does not diff", s.Destination.Mode)
	}
	if s.Source.Cursor != "" {
		bad(p+".source.cursor", "diff: warehouse compares the whole source inside the database, so a cursor saves nothing: remove it")
	}
	if s.OnDuplicate == "last" {
		bad(p+".on_duplicate", "diff: warehouse needs a unique key in the source: on_duplicate last is for the client diff")
	}
}
