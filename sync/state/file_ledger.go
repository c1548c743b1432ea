package state

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// budgetsDir holds the file store's request counts (Ledger), one JSON file
// per name with its lock beside it. A sync's folder name never starts with
// a dot (escapeSyncName), so no sync can collide with it.
const budgetsDir = ".budgets"

// ledgerEntry is one name's count.
type ledgerEntry struct {
	Name string `json:"name"`
	Day  string `json:"day"`
	Used int64  `json:"used"`
}

var _ Ledger = (*fileStore)(nil)

// Spend implements Ledger: under an exclusive lock of the name's lock file,
// read the count, add n, write it back atomically (temp file, fsync,
// rename), so runners in several processes count exactly.
func (s *fileStore) Spend(ctx context.Context, name, day string, n int64) (int64, error) {
	dir := filepath.Join(s.root, budgetsDir)
	if err := os.MkdirAll(dir, folderPerm); err != nil {
		return 0, notWritable(s.root, err)
	}
	base := escapeSyncName(name)
	lock, err := acquire(ctx, filepath.Join(dir, base+".lock"), -1, commitLockPoll)
	if err != nil {
		return 0, err
	}
	defer func() {
		unlockFile(lock)
		lock.Close()
	}()
	path := filepath.Join(dir, base+".json")
	var e ledgerEntry
	switch b, err := os.ReadFile(path); {
	case err == nil:
		if err := json.Unmarshal(b, &e); err != nil {
			return 0, fmt.Errorf("request count %s: %w", path, err)
		}
	case !os.IsNotExist(err):
		return 0, fileErr("read", path, err)
	}
	if e.Day != day {
		e = ledgerEntry{Day: day}
	}
	e.Name, e.Used = name, max(e.Used+n, 0)
	b, err := json.Marshal(e)
	if err != nil {
		return 0, err
	}
	f, err := s.createTemp(dir, "budget")
	if err != nil {
		return 0, err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(f.Name())
		return 0, fileErr("write", f.Name(), err)
	}
	if err := closeDurably(f); err != nil {
		os.Remove(f.Name())
		return 0, err
	}
	if err := renameDurably(f.Name(), path); err != nil {
		return 0, err
	}
	return e.Used, nil
}
