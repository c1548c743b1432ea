package state

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"path/filepath"
	"slices"
	"strings"
)

// state.json is checksummed, and so is every table it names, so that an
// edit that is still valid JSON (an emptied deltas list, a changed cursor,
// delta files swapped, another sync's snapshot copied in) is an error naming
// the file instead of a silently different diff.
//
// The state checksum is the SHA-256 of the file as written with the
// checksum's digits zeroed: taken over the encoded bytes rather than a list
// of fields, it covers every field fileState has or gains.
//
// A table is bound by its size and a CRC32C of its header, index and
// footer. Opening a table reads only those (not its blocks), and since a
// format 3 index holds each block's CRC, which is checked as the block is
// read, the binding reaches every byte of the table.
const (
	stateSumAlgo = "sha256:"
	tableSumAlgo = "crc32c:"
)

var stateSumZero = stateSumAlgo + strings.Repeat("0", sha256.Size*2)

// errDamagedState marks a state.json that cannot be trusted (errors.Is);
// Reset starts such a sync over rather than refusing.
var errDamagedState = errors.New("damaged state")

// damagedError carries errDamagedState without adding it to the message.
type damagedError struct{ err error }

func (e *damagedError) Error() string        { return e.err.Error() }
func (e *damagedError) Unwrap() error        { return e.err }
func (e *damagedError) Is(target error) bool { return target == errDamagedState }

// damaged is the error for a state.json (or a table it names) that fails its
// checks: it names the file, says why, and what to do.
func damaged(statePath, sync, format string, args ...any) error {
	return &damagedError{fmt.Errorf("state file %s: %s: restore the state folder from a backup, or run `hoist state reset SPEC --sync %s` to start this sync over",
		statePath, fmt.Sprintf(format, args...), sync)}
}

// marshalState encodes st with its checksum. The checksum field comes first
// in fileState, so the first occurrence of its value in the file is the
// field itself.
func marshalState(st *fileState) ([]byte, error) {
	c := *st
	c.Checksum = stateSumZero
	b, err := json.MarshalIndent(&c, "", "  ")
	if err != nil {
		return nil, err
	}
	b = append(b, '\n')
	i := bytes.Index(b, []byte(stateSumZero))
	if i < 0 {
		return nil, errors.New("encode state: checksum field missing")
	}
	sum := sha256.Sum256(b)
	hex.Encode(b[i+len(stateSumAlgo):], sum[:])
	return b, nil
}

// checkStateSum verifies raw, the bytes of state.json, against sum, the
// checksum parsed from it.
func checkStateSum(raw []byte, sum string) error {
	digits, ok := strings.CutPrefix(sum, stateSumAlgo)
	if _, err := hex.DecodeString(digits); !ok || err != nil || len(sum) != len(stateSumZero) {
		return fmt.Errorf("checksum %q is not %s followed by %d hex digits", sum, stateSumAlgo, sha256.Size*2)
	}
	i := bytes.Index(raw, []byte(`"`+sum+`"`))
	if i < 0 {
		return errors.New("checksum does not match its content (edited by hand?)")
	}
	z := bytes.Clone(raw)
	copy(z[i+1+len(stateSumAlgo):], stateSumZero[len(stateSumAlgo):])
	got := sha256.Sum256(z)
	if hex.EncodeToString(got[:]) != digits {
		return errors.New("checksum does not match its content (edited by hand or damaged)")
	}
	return nil
}

// tableSeal binds a table file named by state.json to its content.
type tableSeal struct {
	Size     int64  `json:"size,omitempty"`
	Checksum string `json:"checksum,omitempty"`
}

func (s tableSeal) sealed() bool { return s.Checksum != "" }

func tableSum(crc uint32) string { return fmt.Sprintf("%s%08x", tableSumAlgo, crc) }

// tableRef is a table state.json names and its seal.
type tableRef struct {
	name string
	seal tableSeal
}

// tableRefs lists the snapshot's tables, the base first, then the deltas
// oldest first.
func (st *fileState) tableRefs() []tableRef {
	var out []tableRef
	if st.Snapshot != "" {
		r := tableRef{name: st.Snapshot}
		if st.SnapshotSeal != nil {
			r.seal = *st.SnapshotSeal
		}
		out = append(out, r)
	}
	for _, d := range st.Deltas {
		out = append(out, tableRef{name: d.File, seal: d.tableSeal})
	}
	return out
}

// seal computes t's seal: a CRC32C of its header, index and footer, or for
// a format 1 stream (no index, read in full anyway) of the whole file.
func (t *tableFile) seal() (tableSeal, error) {
	h := crc32.New(crcTable)
	from := int64(0)
	if t.version != snapVersion {
		h.Write(t.hdr[:])
		from = t.indexOff
	}
	if _, err := io.Copy(h, io.NewSectionReader(t.f, from, t.size-from)); err != nil {
		return tableSeal{}, fmt.Errorf("snapshot %s: %w", t.path, err)
	}
	return tableSeal{Size: t.size, Checksum: tableSum(h.Sum32())}, nil
}

// checkSeal verifies t against the seal state.json records for it, and
// keeps the seal so that a full read checks its blocks against it too.
func (t *tableFile) checkSeal(want tableSeal) error {
	if t.size != want.Size {
		return fmt.Errorf("%s is %d bytes, but state.json records %d (truncated, replaced or from another sync)", t.path, t.size, want.Size)
	}
	got, err := t.seal()
	if err != nil {
		return err
	}
	if got.Checksum != want.Checksum {
		return fmt.Errorf("%s has checksum %s, but state.json records %s (replaced, swapped or from another sync)", t.path, got.Checksum, want.Checksum)
	}
	t.want = want.Checksum
	return nil
}

// sealAll gives every table st names that has no seal yet (written by an
// earlier hoist) its seal, so the commit that writes st binds them.
func sealAll(dir string, st *fileState) error {
	seal := func(name string) (tableSeal, error) {
		t, err := openTable(filepath.Join(dir, name))
		if err != nil {
			return tableSeal{}, err
		}
		defer t.close()
		return t.seal()
	}
	if st.Snapshot != "" && (st.SnapshotSeal == nil || !st.SnapshotSeal.sealed()) {
		s, err := seal(st.Snapshot)
		if err != nil {
			return err
		}
		st.SnapshotSeal = &s
	}
	st.Deltas = slices.Clone(st.Deltas) // may share the previous state's array
	for i := range st.Deltas {
		if !st.Deltas[i].sealed() {
			s, err := seal(st.Deltas[i].File)
			if err != nil {
				return err
			}
			st.Deltas[i].tableSeal = s
		}
	}
	return nil
}
