package state

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// jobsDir holds the file store's recorded jobs (JobStore): one folder per
// sync, one file per job, each written atomically. A sync's folder name
// never starts with a dot (escapeSyncName), so none collides with it.
const jobsDir = ".jobs"

var _ JobStore = (*fileStore)(nil)

func (s *fileStore) jobsFolder(sync string) string {
	return filepath.Join(s.root, jobsDir, escapeSyncName(sync))
}

// PutJob implements JobStore: temp file, fsync, rename, so a kill leaves
// the old entry or the new one, never half of one.
func (s *fileStore) PutJob(_ context.Context, sync, id string, data []byte) error {
	dir := s.jobsFolder(sync)
	if err := os.MkdirAll(dir, folderPerm); err != nil {
		return notWritable(s.root, err)
	}
	f, err := s.createTemp(dir, "job")
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(f.Name())
		return fileErr("write", f.Name(), err)
	}
	if err := closeDurably(f); err != nil {
		os.Remove(f.Name())
		return err
	}
	return renameDurably(f.Name(), filepath.Join(dir, escapeSyncName(id)+".job"))
}

// Jobs implements JobStore, and removes the temp files of PutJobs a kill
// cut short.
func (s *fileStore) Jobs(_ context.Context, sync string) (map[string][]byte, error) {
	dir := s.jobsFolder(sync)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return map[string][]byte{}, nil
	}
	if err != nil {
		return nil, fileErr("read", dir, err)
	}
	out := map[string][]byte{}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), tempPrefix) {
			// a PutJob a kill cut short: its job was never recorded, and
			// the run reading the jobs holds the sync's lock, so no
			// PutJob of this sync is writing it now
			os.Remove(filepath.Join(dir, e.Name()))
			continue
		}
		name, ok := strings.CutSuffix(e.Name(), ".job")
		if !ok || e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fileErr("read", filepath.Join(dir, e.Name()), err)
		}
		out[unescapeJobName(name)] = b
	}
	return out, nil
}

// DeleteJobs implements JobStore.
func (s *fileStore) DeleteJobs(_ context.Context, sync string, ids []string) error {
	dir := s.jobsFolder(sync)
	for _, id := range ids {
		p := filepath.Join(dir, escapeSyncName(id)+".job")
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fileErr("remove", p, err)
		}
	}
	return nil
}

// unescapeJobName undoes escapeSyncName (Salesforce's job IDs are
// alphanumeric, which it leaves alone).
func unescapeJobName(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}
