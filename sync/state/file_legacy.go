package state

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// A hoist before state identity kept the default state in .hoist/<sync>/
// beside the spec; it now lives in .hoist/<spec file>/<sync>/, so that two
// specs in one folder never share a sync's state. A store opened with a
// legacy folder reads a sync's old folder until a run moves it in, under
// both folders' run locks, so an upgrade never starts a sync over.

// readDir is the folder to read a sync's state from: its own, or its
// legacy folder when only that one has a state.json.
func (s *fileStore) readDir(sync string) (string, error) {
	dir, err := s.syncDir(sync)
	if err != nil {
		return "", err
	}
	if old := s.legacyDir(sync); old != "" && !exists(filepath.Join(dir, stateFileName)) && exists(filepath.Join(old, stateFileName)) {
		return old, nil
	}
	return dir, nil
}

// legacyDir is the sync's folder under the legacy root, or "" when there is
// none (or it is the new root itself: a sync named like its spec file).
func (s *fileStore) legacyDir(sync string) string {
	if s.legacy == "" {
		return ""
	}
	old := filepath.Join(s.legacy, escapeSyncName(sync))
	if old == s.root {
		return ""
	}
	return old
}

// adoptLegacy moves a sync's legacy state into dir, its own folder, whose
// run lock the caller holds. Table files move first and state.json last, so
// a crash in between leaves the legacy state.json naming files that are
// found in dir on the next try; dir has no state.json until the very end.
func (s *fileStore) adoptLegacy(ctx context.Context, sync, dir string, wait time.Duration) error {
	old := s.legacyDir(sync)
	if old == "" || exists(filepath.Join(dir, stateFileName)) || !exists(filepath.Join(old, stateFileName)) {
		return nil
	}
	lockPath := filepath.Join(old, lockFileName)
	f, err := acquire(ctx, lockPath, wait, lockPoll)
	if err != nil {
		if err == errLockBusy {
			return &LockedError{Sync: sync, Holder: readHolder(lockPath)}
		}
		return fmt.Errorf("move state from %s: %w", old, err)
	}
	defer func() {
		unlockFile(f)
		f.Close()
	}()
	st, err := readState(old, sync)
	if err != nil {
		return fmt.Errorf("move state from %s: %w", old, err)
	}
	for _, name := range st.tableNames() {
		from, to := filepath.Join(old, name), filepath.Join(dir, name)
		if err := os.Rename(from, to); err != nil && !(errors.Is(err, fs.ErrNotExist) && exists(to)) {
			return fmt.Errorf("move state from %s: %w", old, err)
		}
	}
	if err := os.Rename(filepath.Join(old, stateFileName), filepath.Join(dir, stateFileName)); err != nil {
		return fmt.Errorf("move state from %s: %w", old, err)
	}
	if err := syncFolder(dir); err != nil {
		return fmt.Errorf("move state from %s: %w", old, err)
	}
	// What is left (locks, stale temp files) is removed best effort: an
	// older hoist started now would find no state.json and start over,
	// exactly as it would in a new folder.
	removeStale(old, nil)
	os.Remove(filepath.Join(old, commitLockName))
	os.Remove(lockPath)
	os.Remove(old)
	return nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
