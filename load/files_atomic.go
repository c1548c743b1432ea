package load

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"
)

// atomicFile is a hidden file beside its final path, made final by an fsync and
// a rename: readers see the old file or the new one, never a partial one. The
// leading dot keeps files sources from reading it meanwhile.
type atomicFile struct {
	f     *os.File
	bw    *bufio.Writer
	final string
}

func newAtomicFile(final string) (*atomicFile, error) {
	f, err := os.CreateTemp(filepath.Dir(final), "."+filepath.Base(final)+".tmp-*")
	if err != nil {
		return nil, err
	}
	return &atomicFile{f: f, bw: bufio.NewWriterSize(f, 1<<20), final: final}, nil
}

func (t *atomicFile) Write(p []byte) (int, error) { return t.bw.Write(p) }

// commit flushes, fsyncs and renames the temp file over its final path,
// keeping the permissions of the file it replaces (0644 for a new one).
// With noClobber it refuses to replace an existing file.
func (t *atomicFile) commit(noClobber bool) error {
	mode := os.FileMode(0o644)
	if st, err := os.Stat(t.final); err == nil {
		if noClobber {
			t.discard()
			return fmt.Errorf("%s appeared while writing it", filepath.Base(t.final))
		}
		mode = st.Mode().Perm()
	}
	err := t.bw.Flush()
	if err == nil {
		err = t.f.Chmod(mode)
	}
	if err == nil {
		err = t.f.Sync()
	}
	if cerr := t.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(t.f.Name(), t.final)
	}
	if err != nil {
		os.Remove(t.f.Name())
		return fmt.Errorf("finish %s: %w", filepath.Base(t.final), err)
	}
	return syncFolder(filepath.Dir(t.final))
}

// discard removes the temp file; the final path is untouched.
func (t *atomicFile) discard() error {
	t.f.Close()
	if err := os.Remove(t.f.Name()); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("remove temp file: %w", err)
	}
	return nil
}

// syncFolder makes a rename durable: the new directory entry is only on disk
// once the folder itself is synced.
func syncFolder(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync folder: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync folder: %w", err)
	}
	return nil
}

const filePartLayout = "20060102T150405.000000Z"

func filePartStamp() string { return time.Now().UTC().Format(filePartLayout) }

// filePartsOf lists the part files append runs wrote beside a Parquet object.
func filePartsOf(path string) ([]string, error) {
	ext := filepath.Ext(path)
	stem := path[:len(path)-len(ext)]
	matches, err := filepath.Glob(stem + "-*" + ext)
	if err != nil {
		return nil, err
	}
	re := regexp.MustCompile(`^` + regexp.QuoteMeta(filepath.Base(stem)) + `-\d{8}T\d{6}\.\d{6}Z` + regexp.QuoteMeta(ext) + `$`)
	var out []string
	for _, m := range matches {
		if re.MatchString(filepath.Base(m)) {
			out = append(out, m)
		}
	}
	return out, nil
}

// removeFileParts deletes the part files of an object just rewritten whole
// (replace, or a keyed merge that read them in).
func removeFileParts(parts []string) error {
	for _, p := range parts {
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("remove old part %s: %w", filepath.Base(p), err)
		}
	}
	if len(parts) > 0 {
		return syncFolder(filepath.Dir(parts[0]))
	}
	return nil
}
