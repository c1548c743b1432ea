package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hoist-dev/hoist/internal/cursor"
)

// The file store keeps one folder per sync under its root:
//
//	ROOT/<escaped sync>/state.json         cursor, snapshot pointer, history
//	ROOT/<escaped sync>/snapshot-<gen>.bin the snapshot named by state.json
//	ROOT/<escaped sync>/lock               run lock (flock) + holder info
//	ROOT/<escaped sync>/commit.lock        short lock serialising writers
//
// state.json is the single commit point: a snapshot file only becomes visible
// when the state.json naming it is renamed in, so a crash at any moment leaves
// either the old pair or the new pair.
const (
	stateFileName  = "state.json"
	lockFileName   = "lock"
	commitLockName = "commit.lock"
	// stateFormat 2 added delta tables (an earlier hoist would not see
	// them, so it must refuse the file); 3 added checksums (see
	// file_seal.go) and format 3 tables, which a format 2 hoist cannot read.
	// Formats 1 and 2 are still read, unchecked, and sealed by their next
	// commit. 4 added format 4 tables (record IDs beside rows), which a
	// format 3 hoist cannot read; format 3 tables are still read and kept.
	stateFormat     = 4
	sealedFormat    = 3
	maxHistory      = 50
	tempPrefix      = ".tmp-"
	snapshotPrefix  = "snapshot-"
	snapshotSuffix  = ".bin"
	deltaPrefix     = "delta-"
	folderPerm      = 0o755
	filePerm        = 0o644
	snapshotRetries = 5
)

func init() { Register("file", openFile) }

// fileStore implements Store on a local folder.
type fileStore struct {
	root string
	// legacy is the folder an older hoist kept this spec's state in, or "".
	legacy    string
	codec     byte
	blockSize int
	// compaction policy (see compaction); tests lower them
	maxDeltas  int
	deltaShare int64
	// held is the run locks this store holds, which its writes check
	// (see checkHeld).
	held heldFiles
}

const (
	defaultMaxDeltas  = 8
	defaultDeltaShare = 4
)

var _ Store = (*fileStore)(nil)

// openFile opens file://DIR; DIR is absolute (the spec resolved it against
// its folder) or taken relative to the working directory. legacy, if set, is
// where an older hoist kept this spec's state (see file_legacy.go). Nothing
// is created until a run locks or commits, so plan and state show leave no
// trace.
func openFile(_ context.Context, url, legacy string) (Store, error) {
	_, p, _ := strings.Cut(url, "://")
	if p == "" {
		return nil, errors.New("want file://DIR")
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return nil, fmt.Errorf("resolve state folder %s: %w", p, err)
	}
	s := newFileStore(abs)
	s.legacy = legacy
	return s, nil
}

func newFileStore(root string) *fileStore {
	return &fileStore{root: root, codec: defaultCodec, blockSize: defaultBlockSize, maxDeltas: defaultMaxDeltas, deltaShare: defaultDeltaShare}
}

// fileState is the content of state.json.
type fileState struct {
	// Checksum must stay the first field (see marshalState).
	Checksum     string         `json:"checksum,omitempty"`
	Format       int            `json:"format"`
	Sync         string         `json:"sync"`
	Generation   uint64         `json:"generation"`
	Snapshot     string         `json:"snapshot,omitempty"`
	SnapshotSeal *tableSeal     `json:"snapshot_seal,omitempty"`
	Deltas       []deltaRef     `json:"deltas,omitempty"` // oldest first
	SnapshotRows int64          `json:"snapshot_rows"`
	Cursor       *cursor.Cursor `json:"cursor,omitempty"`
	Identity     *Identity      `json:"identity,omitempty"`
	UpdatedAt    time.Time      `json:"updated_at,omitzero"`
	History      []Run          `json:"history,omitempty"` // newest first
}

// deltaRef names a delta table committed on top of the base snapshot.
type deltaRef struct {
	File    string `json:"file"`
	Entries int64  `json:"entries"`
	tableSeal
}

// tableNames lists the snapshot's files, the base first, then the deltas
// oldest first.
func (st *fileState) tableNames() []string {
	var out []string
	if st.Snapshot != "" {
		out = append(out, st.Snapshot)
	}
	for _, d := range st.Deltas {
		out = append(out, d.File)
	}
	return out
}

// deltaEntries is the number of entries in the delta tables.
func (st *fileState) deltaEntries() int64 {
	var n int64
	for _, d := range st.Deltas {
		n += d.Entries
	}
	return n
}

// escapeSyncName makes a sync name a safe, unique folder name: bytes outside
// [A-Za-z0-9_.-] and a leading dot (".", "..", hidden files) become %XX.
func escapeSyncName(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		safe := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '_' || c == '-' || (c == '.' && i > 0)
		if safe {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func (s *fileStore) syncDir(sync string) (string, error) {
	if sync == "" {
		return "", errors.New("empty sync name")
	}
	return filepath.Join(s.root, escapeSyncName(sync)), nil
}

// ensureDir creates the sync's folder, turning any failure into the error a
// user can act on: which folder, and why.
func (s *fileStore) ensureDir(sync string) (string, error) {
	dir, err := s.syncDir(sync)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, folderPerm); err != nil {
		return "", notWritable(s.root, err)
	}
	return dir, nil
}

// readState loads state.json; a sync never committed gets a fresh state.
func readState(dir, sync string) (*fileState, error) {
	path := filepath.Join(dir, stateFileName)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &fileState{Format: stateFormat, Sync: sync}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	var st fileState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, &damagedError{fmt.Errorf("state file %s is corrupt: %w", path, err)}
	}
	if st.Format < 1 || st.Format > stateFormat {
		return nil, fmt.Errorf("state file %s has format %d; this hoist reads formats 1 to %d (a newer hoist wrote it?)", path, st.Format, stateFormat)
	}
	if err := checkState(b, &st); err != nil {
		return nil, damaged(path, sync, "%v", err)
	}
	if st.Sync != "" && st.Sync != sync {
		return nil, &damagedError{fmt.Errorf("state file %s belongs to sync %q, not %q: it was copied or moved here; remove it (or `hoist state reset`) to start this sync over", path, st.Sync, sync)}
	}
	st.Sync = sync
	return &st, nil
}

// checkState verifies st, parsed from raw: its checksum, and that each
// table it names is a plain file name with a seal. A state without a
// checksum is accepted only in a format written before checksums.
func checkState(raw []byte, st *fileState) error {
	switch {
	case st.Checksum != "":
		if err := checkStateSum(raw, st.Checksum); err != nil {
			return err
		}
	case st.Format >= sealedFormat:
		return errors.New("its checksum is missing (edited by hand?)")
	}
	for _, r := range st.tableRefs() {
		if filepath.Base(r.name) != r.name || r.name == "." || r.name == ".." {
			return fmt.Errorf("snapshot %q is not a file name", r.name)
		}
		if st.Format >= sealedFormat && !r.seal.sealed() {
			return fmt.Errorf("snapshot %s has no checksum (edited by hand?)", r.name)
		}
		if st.Checksum == "" && r.seal != (tableSeal{}) {
			// an earlier hoist writes no seals: this one wrote the file
			return errors.New("its checksum is missing (edited by hand?)")
		}
	}
	return nil
}

func (st *fileState) public() *SyncState {
	out := &SyncState{Sync: st.Sync, Cursor: st.Cursor, SnapshotRows: st.SnapshotRows, Identity: st.Identity}
	if len(st.History) > 0 {
		r := st.History[0]
		out.LastRun = &r
	}
	return out
}

// Get implements Store.
func (s *fileStore) Get(ctx context.Context, sync string) (*SyncState, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dir, err := s.readDir(sync)
	if err != nil {
		return nil, err
	}
	st, err := readState(dir, sync)
	if err != nil {
		return nil, fmt.Errorf("get state of sync %s: %w", sync, err)
	}
	return st.public(), nil
}

// History implements Store; n <= 0 returns every run kept (the last 50).
func (s *fileStore) History(ctx context.Context, sync string, n int) ([]Run, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dir, err := s.readDir(sync)
	if err != nil {
		return nil, err
	}
	st, err := readState(dir, sync)
	if err != nil {
		return nil, fmt.Errorf("history of sync %s: %w", sync, err)
	}
	h := st.History
	if n > 0 && n < len(h) {
		h = h[:n]
	}
	return append([]Run(nil), h...), nil
}

// Snapshot implements Store. Table files are immutable once named by
// state.json, so reading needs no lock (see openCurrentView).
func (s *fileStore) Snapshot(ctx context.Context, sync string) (Iterator, error) {
	v, err := s.openCurrentView(ctx, sync)
	if err != nil {
		return nil, fmt.Errorf("snapshot of sync %s: %w", sync, err)
	}
	if len(v.tables) == 0 {
		return &SliceIterator{}, nil
	}
	vs, err := v.scan(ctx)
	if err != nil {
		v.close()
		return nil, fmt.Errorf("snapshot of sync %s: %w", sync, err)
	}
	vs.own = true
	return vs, nil
}

var _ LookupStore = (*fileStore)(nil)

// Lookup implements LookupStore: keys are found through each table's block
// index, so only the blocks that may hold them are read.
func (s *fileStore) Lookup(ctx context.Context, sync string) (Lookup, error) {
	v, err := s.openCurrentView(ctx, sync)
	if err != nil {
		return nil, fmt.Errorf("look up snapshot of sync %s: %w", sync, err)
	}
	l, err := v.lookup(ctx)
	if err != nil {
		v.close()
		return nil, fmt.Errorf("look up snapshot of sync %s: %w", sync, err)
	}
	l.own = true
	return l, nil
}

// Reset implements Store: cursor and snapshot are forgotten, history kept.
func (s *fileStore) Reset(ctx context.Context, sync string) error {
	dir, err := s.syncDir(sync)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, stateFileName)); errors.Is(err, fs.ErrNotExist) {
		return nil // never committed: nothing to forget, and no folder to create
	}
	unlock, err := s.commitLock(ctx, dir)
	if err != nil {
		return fmt.Errorf("reset sync %s: %w", sync, err)
	}
	defer unlock()
	st, err := readState(dir, sync)
	if errors.Is(err, errDamagedState) {
		// what the error told the user to do: start over, history and all
		st, err = &fileState{Sync: sync}, nil
	}
	if err != nil {
		return fmt.Errorf("reset sync %s: %w", sync, err)
	}
	st.Format, st.Cursor, st.Snapshot, st.SnapshotSeal, st.Deltas, st.SnapshotRows, st.Identity = stateFormat, nil, "", nil, nil, 0, nil
	st.UpdatedAt = time.Now().UTC()
	if err := s.checkHeld(dir, sync); err != nil {
		return fmt.Errorf("reset sync %s: %w", sync, err)
	}
	if err := s.writeState(dir, st); err != nil {
		return fmt.Errorf("reset sync %s: %w", sync, err)
	}
	removeStale(dir, nil)
	return nil
}

// Close implements Store. The file store holds no resources between calls;
// locks are released through their own Release.
func (s *fileStore) Close() error { return nil }

// Root is the absolute state folder (for messages such as `state show`).
func (s *fileStore) Root() string { return s.root }
