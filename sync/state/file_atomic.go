package state

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
)

// notWritable names the state folder and the reason, e.g.
// "state folder /x/.hoist is not writable: permission denied". It wraps the
// underlying errno so errors.Is(err, fs.ErrPermission) still works.
func notWritable(folder string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("state folder %s is not writable: %w", folder, err)
}

// createTemp makes a temp file in dir, so the final rename stays within one
// file system and is atomic.
func (s *fileStore) createTemp(dir, kind string) (*os.File, error) {
	f, err := os.CreateTemp(dir, tempPrefix+kind+"-*")
	if err != nil {
		return nil, notWritable(dir, err)
	}
	return f, nil
}

// closeDurably fsyncs and closes f; a file is only renamed in once its
// content is on disk, or a crash could leave a renamed but empty file.
func closeDurably(f *os.File) error {
	if err := f.Sync(); err != nil {
		f.Close()
		return fileErr("fsync", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return fileErr("close", f.Name(), err)
	}
	return nil
}

// writeStateTemp writes st to a durable temp file and returns its path.
func (s *fileStore) writeStateTemp(dir string, st *fileState) (string, error) {
	b, err := marshalState(st)
	if err != nil {
		return "", fmt.Errorf("encode state: %w", err)
	}
	f, err := s.createTemp(dir, "state")
	if err != nil {
		return "", err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", fileErr("write", f.Name(), err)
	}
	if err := closeDurably(f); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// writeState replaces state.json atomically.
func (s *fileStore) writeState(dir string, st *fileState) error {
	tmp, err := s.writeStateTemp(dir, st)
	if err != nil {
		return err
	}
	return renameDurably(tmp, filepath.Join(dir, stateFileName))
}

// renameDurably renames and then fsyncs the folder, so the new name survives
// a power loss, and a later rename cannot reach the disk before this one.
func renameDurably(from, to string) error {
	if err := os.Rename(from, to); err != nil {
		os.Remove(from)
		return fmt.Errorf("rename %s: %w", filepath.Base(from), err)
	}
	return syncFolder(filepath.Dir(to))
}

func syncFolder(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // folders cannot be opened for fsync there; NTFS journals renames
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("fsync folder %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync folder %s: %w", dir, err)
	}
	return nil
}

// removeStale deletes table files other than keep and temp files left by a
// crashed writer. Only called while holding the commit lock, so no writer is
// using a temp file. Failures are ignored: a leftover file costs disk space,
// never correctness, and the next commit tries again (on Windows a file
// still open by a reader cannot be removed yet).
func removeStale(dir string, keep []string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		isTable := (strings.HasPrefix(name, snapshotPrefix) || strings.HasPrefix(name, deltaPrefix)) &&
			strings.HasSuffix(name, snapshotSuffix)
		if (isTable && !slices.Contains(keep, name)) || strings.HasPrefix(name, tempPrefix) {
			os.Remove(filepath.Join(dir, name))
		}
	}
}
