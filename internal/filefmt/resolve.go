package filefmt

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Resolve lists the files a files source reads, in order.
//
// connPath is the connection's path and srcPath the source's optional path,
// both as written in the spec; dir is the spec's folder. Following docs/spec.md, a
// relative connPath resolves against dir, and a relative srcPath against
// connPath when that is a folder (else against dir). The result may name a
// file, a folder (every file of format in it, sorted; hidden files skipped) or
// a glob (filepath.Glob, sorted, folders and hidden files skipped).
func Resolve(dir, connPath, srcPath, format string) ([]string, error) {
	base := abs(dir, connPath)
	target := base
	if srcPath != "" {
		root := dir
		if st, err := os.Stat(base); err == nil && st.IsDir() {
			root = base
		}
		target = abs(root, srcPath)
	}
	if hasMeta(target) {
		matches, err := filepath.Glob(target)
		if err != nil {
			return nil, fmt.Errorf("bad glob %s: %w", target, err)
		}
		files := matches[:0]
		for _, m := range matches {
			if hidden(m) {
				continue
			}
			if st, err := os.Stat(m); err == nil && st.Mode().IsRegular() {
				files = append(files, m)
			}
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("no files match %s", target)
		}
		sort.Strings(files)
		return files, nil
	}
	st, err := os.Stat(target)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", target, err)
	}
	if !st.IsDir() {
		return []string{target}, nil
	}
	entries, err := os.ReadDir(target)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", target, err)
	}
	var files []string
	for _, e := range entries {
		if e.IsDir() || hidden(e.Name()) || FromExt(e.Name()) != format {
			continue
		}
		files = append(files, filepath.Join(target, e.Name()))
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("folder %s holds no %s files", target, format)
	}
	sort.Strings(files) // ReadDir sorts already; keep the order explicit
	return files, nil
}

func abs(dir, p string) string {
	if filepath.IsAbs(p) || dir == "" {
		return filepath.Clean(p)
	}
	return filepath.Join(dir, p)
}

func hasMeta(p string) bool { return strings.ContainsAny(p, `*?[`) }

// hidden reports dot files: editors' swap files and hoist's own temp files
// (".name.tmp-…") must never be read as data.
func hidden(p string) bool { return strings.HasPrefix(filepath.Base(p), ".") }
