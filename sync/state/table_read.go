package state

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
)

// tableEntries is an entry of one table: delta tables hold removals
// (removed() true), a base table never does.
type tableEntries interface {
	key() []byte
	row() []byte
	// id is the entry's record ID: nil when it has none, and always in a
	// table written before IDs were kept (version 2 and 3).
	id() []byte
	removed() bool
	err() error
	close() error
}

// tableIter walks one table's entries in key order.
type tableIter interface {
	tableEntries
	next() bool
}

// tableSeeker finds keys in one table.
type tableSeeker interface {
	tableEntries
	// seekGE moves to the first entry whose key is >= k, never backwards:
	// if the current entry is already >= k it stays. It reports whether
	// there is such an entry.
	seekGE(k []byte) bool
}

// tableFile is one open table file: format 2 (blocks and an index), or a
// format 1 snapshot stream written by an earlier hoist, read in order only.
type tableFile struct {
	path    string
	f       *os.File
	size    int64
	version byte
	codec   byte
	hdr     [tableHeaderLen]byte
	// format 2 and 3 only
	indexOff int64
	entries  int64
	blocks   int64
	// want is the seal's checksum once checkSeal verified it: a full read
	// of a format 3 table then checks its blocks' CRCs against it too.
	want string
}

func openTable(path string) (*tableFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	t, err := readTableMeta(path, f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return t, nil
}

func readTableMeta(path string, f *os.File) (*tableFile, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	t := &tableFile{path: path, f: f, size: fi.Size()}
	hdr := t.hdr[:]
	if _, err := f.ReadAt(hdr, 0); err != nil {
		return nil, fmt.Errorf("snapshot %s: read header: %w", path, err)
	}
	if !bytes.Equal(hdr[:len(snapMagic)], []byte(snapMagic)) {
		return nil, fmt.Errorf("snapshot %s: not a hoist snapshot file", path)
	}
	t.version, t.codec = hdr[len(snapMagic)], hdr[len(snapMagic)+1]
	switch t.version {
	case snapVersion:
		return t, nil // format 1: the stream reader checks the rest
	case tableVersion, tableVersion3, tableVersion2:
	default:
		return nil, fmt.Errorf("snapshot %s: format version %d is not supported (want %d)", path, t.version, tableVersion)
	}
	if t.codec != codecNone && t.codec != codecS2 && t.codec != codecZstd {
		return nil, fmt.Errorf("snapshot %s: unknown codec %d", path, t.codec)
	}
	if t.size < int64(tableHeaderLen+tableFooterLen) {
		return nil, fmt.Errorf("snapshot %s: %w", path, errSnapTruncated)
	}
	var foot [tableFooterLen]byte
	if _, err := f.ReadAt(foot[:], t.size-int64(tableFooterLen)); err != nil {
		return nil, fmt.Errorf("snapshot %s: read footer: %w", path, err)
	}
	if string(foot[24:]) != tableEndMagic {
		return nil, fmt.Errorf("snapshot %s: %w", path, errSnapTruncated)
	}
	t.indexOff = int64(binary.LittleEndian.Uint64(foot[0:]))
	t.entries = int64(binary.LittleEndian.Uint64(foot[8:]))
	t.blocks = int64(binary.LittleEndian.Uint64(foot[16:]))
	if t.indexOff < int64(tableHeaderLen) || t.indexOff > t.size-int64(tableFooterLen) ||
		t.entries < 0 || t.blocks < 0 || t.blocks > t.entries {
		return nil, fmt.Errorf("snapshot %s: footer is implausible (corrupt file)", path)
	}
	return t, nil
}

func (t *tableFile) close() error { return t.f.Close() }

// scan reads every entry in order.
func (t *tableFile) scan(ctx context.Context) (tableIter, error) {
	if t.version == snapVersion {
		// its own section reader: no shared file offset between iterators
		r, err := newSnapReader(ctx, t.path, io.NewSectionReader(t.f, 0, t.size))
		if err != nil {
			return nil, err
		}
		return &legacyIter{r: r}, nil
	}
	sr := io.NewSectionReader(t.f, int64(tableHeaderLen), t.indexOff-int64(tableHeaderLen))
	it := &blockScan{t: t, ctx: ctx, br: bufio.NewReaderSize(sr, snapBufSize), next0: int64(tableHeaderLen)}
	it.b.t = t
	if t.want != "" && t.version >= tableVersion3 {
		it.sealing, it.sum = true, crc32.Checksum(t.hdr[:], crcTable)
	}
	return it, nil
}

// seeker finds keys through the index, reading only the blocks that may
// hold them.
func (t *tableFile) seeker(ctx context.Context) (tableSeeker, error) {
	if t.version == snapVersion {
		it, err := t.scan(ctx) // no index: seekGE walks forward
		if err != nil {
			return nil, err
		}
		return it.(*legacyIter), nil
	}
	sr := io.NewSectionReader(t.f, t.indexOff, t.size-int64(tableFooterLen)-t.indexOff)
	it := &blockSeek{t: t, ctx: ctx, idx: bufio.NewReaderSize(sr, indexBufSize), blk: -1}
	it.b.t = t
	return it, nil
}

// block is a decoded block and the position of its current entry.
type block struct {
	t       *tableFile
	zdec    *zstd.Decoder
	buf     []byte // decoded entries
	pos     int    // offset of the next entry in buf
	k, r    []byte
	id      []byte
	rm      bool
	scratch []byte
}

// load verifies and decodes one stored block: its header and data. A
// format 3 index holds the block's CRC (want) too, which must agree.
func (b *block) load(stored []byte, at int64, want uint32) error {
	n, hl := binary.Uvarint(stored)
	if hl <= 0 || uint64(len(stored)-hl) != 4+n {
		return b.corrupt(at, "block header")
	}
	sum := binary.LittleEndian.Uint32(stored[hl:])
	if b.t.version >= tableVersion3 && sum != want {
		return b.corrupt(at, "block checksum (does not match the index)")
	}
	return b.verify(stored[hl+4:], sum, at)
}

// verify checks data against its CRC and decodes it.
func (b *block) verify(data []byte, sum uint32, at int64) error {
	if crc32.Checksum(data, crcTable) != sum {
		return b.corrupt(at, "block checksum")
	}
	return b.decode(data, at)
}

func (b *block) decode(data []byte, at int64) error {
	var err error
	switch b.t.codec {
	case codecNone:
		b.buf = append(b.buf[:0], data...)
	case codecS2:
		n, derr := s2.DecodedLen(data)
		if derr != nil || n > 2*maxEntryPart {
			return b.corrupt(at, "block length")
		}
		b.buf, err = s2.Decode(b.buf[:cap(b.buf)], data)
	case codecZstd:
		if b.zdec == nil {
			if b.zdec, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true)); err != nil {
				return err
			}
		}
		b.buf, err = b.zdec.DecodeAll(data, b.buf[:0])
	}
	if err != nil {
		return fmt.Errorf("snapshot %s: block at %d: %w", b.t.path, at, err)
	}
	b.pos = 0
	return nil
}

// nextEntry parses the block's next entry; false at its end.
func (b *block) nextEntry(at int64) (bool, error) {
	if b.pos >= len(b.buf) {
		return false, nil
	}
	p := b.buf[b.pos:]
	kl, n := binary.Uvarint(p)
	if n <= 0 || kl > uint64(len(p)-n) {
		return false, b.corrupt(at, "entry key")
	}
	p = p[n:]
	b.k, p = p[:kl], p[kl:]
	tag, m := binary.Uvarint(p)
	if m <= 0 || (tag > 0 && tag-1 > uint64(len(p)-m)) {
		return false, b.corrupt(at, "entry row")
	}
	p = p[m:]
	b.rm, b.id = tag == tagRemoved, nil
	if b.rm {
		b.r = nil
		b.pos = len(b.buf) - len(p)
		return true, nil
	}
	payload := p[: tag-1 : tag-1] // full slice expression: never nil, even when empty
	b.pos = len(b.buf) - len(p) + len(payload)
	b.r = payload
	if b.t.version >= tableVersion {
		il, n := binary.Uvarint(payload)
		if n <= 0 || il > uint64(len(payload)-n) {
			return false, b.corrupt(at, "entry id")
		}
		if il > 0 {
			b.id = payload[n : n+int(il) : n+int(il)]
		}
		b.r = payload[n+int(il):]
	}
	return true, nil
}

func (b *block) corrupt(at int64, what string) error {
	return fmt.Errorf("snapshot %s: block at %d: bad %s (corrupt file)", b.t.path, at, what)
}

func (b *block) release() {
	if b.zdec != nil {
		b.zdec.Close()
	}
}

// blockScan streams the blocks in file order.
type blockScan struct {
	t      *tableFile
	ctx    context.Context
	br     *bufio.Reader
	b      block
	at     int64 // file offset of the current block
	next0  int64 // file offset of the next block
	n      int64
	blocks int64
	e      error
	done   bool
	// a sealed format 3 table: the CRC32C of the header, index and footer
	// rebuilt from the blocks read, checked against the seal at the end
	sealing  bool
	sum      uint32
	needKey  bool // the next entry is a block's first: it goes in the sum
	blockCRC uint32
	ibuf     []byte
}

func (s *blockScan) next() bool {
	if s.done || s.e != nil {
		return false
	}
	for {
		ok, err := s.b.nextEntry(s.at)
		if err != nil {
			s.e = err
			return false
		}
		if ok {
			s.n++
			if s.needKey {
				s.addIndexEntry()
			}
			return true
		}
		if !s.readBlock() {
			return false
		}
	}
}

func (s *blockScan) readBlock() bool {
	if s.blocks%64 == 0 {
		if err := s.ctx.Err(); err != nil {
			s.e = err
			return false
		}
	}
	s.at = s.next0
	n, err := binary.ReadUvarint(s.br)
	if err == io.EOF {
		s.finish()
		return false
	}
	if err != nil || n > 2*maxEntryPart {
		s.e = s.b.corrupt(s.at, "block header")
		return false
	}
	if uint64(cap(s.b.scratch)) < 4+n {
		s.b.scratch = make([]byte, 4+n)
	}
	stored := s.b.scratch[:4+n]
	if _, err := io.ReadFull(s.br, stored); err != nil {
		s.e = fmt.Errorf("snapshot %s: block at %d: %w", s.t.path, s.at, errSnapTruncated)
		return false
	}
	if err := s.b.verify(stored[4:], binary.LittleEndian.Uint32(stored), s.at); err != nil {
		s.e = err
		return false
	}
	s.blocks++
	s.next0 = s.at + int64(uvarintLen(n)) + int64(len(stored))
	s.needKey, s.blockCRC = s.sealing, binary.LittleEndian.Uint32(stored)
	return true
}

// addIndexEntry adds the current block's index entry, as the writer wrote
// it, to the sum.
func (s *blockScan) addIndexEntry() {
	e := binary.AppendUvarint(s.ibuf[:0], uint64(len(s.b.k)))
	e = append(e, s.b.k...)
	e = binary.AppendUvarint(e, uint64(s.at))
	e = binary.LittleEndian.AppendUint32(e, s.blockCRC)
	s.ibuf = e
	s.sum = crc32.Update(s.sum, crcTable, e)
	s.needKey = false
}

// finish checks the footer's counts once the blocks end, and for a sealed
// table that the blocks read are the ones the seal binds.
func (s *blockScan) finish() {
	if s.n != s.t.entries || s.blocks != s.t.blocks {
		s.e = fmt.Errorf("snapshot %s: footer says %d entries in %d blocks, read %d in %d (corrupt file)",
			s.t.path, s.t.entries, s.t.blocks, s.n, s.blocks)
		return
	}
	if s.sealing {
		var foot [tableFooterLen]byte
		binary.LittleEndian.PutUint64(foot[0:], uint64(s.t.indexOff))
		binary.LittleEndian.PutUint64(foot[8:], uint64(s.t.entries))
		binary.LittleEndian.PutUint64(foot[16:], uint64(s.t.blocks))
		copy(foot[24:], tableEndMagic)
		if got := tableSum(crc32.Update(s.sum, crcTable, foot[:])); got != s.t.want {
			s.e = fmt.Errorf("snapshot %s: its blocks do not match its checksum %s (replaced or damaged)", s.t.path, s.t.want)
			return
		}
	}
	s.done = true
}

func (s *blockScan) key() []byte   { return s.b.k }
func (s *blockScan) row() []byte   { return s.b.r }
func (s *blockScan) id() []byte    { return s.b.id }
func (s *blockScan) removed() bool { return s.b.rm }
func (s *blockScan) err() error    { return s.e }
func (s *blockScan) close() error  { s.b.release(); return nil }

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// blockSeek moves forward through the index, loading a block only when a
// sought key may be in it.
type blockSeek struct {
	t   *tableFile
	ctx context.Context
	idx *bufio.Reader
	b   block

	// index entries: cur is the block the position is in (or before), nxt
	// the one after it (nxtOK false past the last block).
	curKey, nxtKey []byte
	curOff, nxtOff int64
	curCRC, nxtCRC uint32 // format 3
	curOK, nxtOK   bool
	idxRead        int64
	started        bool

	blk    int64 // file offset of the loaded block, -1 for none
	have   bool  // positioned on an entry
	e      error
	loaded int64 // blocks loaded, for tests and benchmarks
}

// readIndex reads the next index entry into (key, off) and, in format 3,
// nxtCRC; ok false at its end.
func (s *blockSeek) readIndex(key []byte, prevOff int64) ([]byte, int64, bool) {
	if s.idxRead == s.t.blocks {
		return key, 0, false
	}
	kl, err := binary.ReadUvarint(s.idx)
	if err != nil || kl > maxEntryPart {
		s.e = fmt.Errorf("snapshot %s: index entry %d: bad key length (corrupt file)", s.t.path, s.idxRead)
		return key, 0, false
	}
	if uint64(cap(key)) < kl {
		key = make([]byte, kl)
	}
	key = key[:kl]
	if _, err := io.ReadFull(s.idx, key); err != nil {
		s.e = fmt.Errorf("snapshot %s: index entry %d: %w", s.t.path, s.idxRead, errSnapTruncated)
		return key, 0, false
	}
	off, err := binary.ReadUvarint(s.idx)
	if err != nil || int64(off) <= prevOff || int64(off) >= s.t.indexOff {
		s.e = fmt.Errorf("snapshot %s: index entry %d: bad block offset (corrupt file)", s.t.path, s.idxRead)
		return key, 0, false
	}
	if s.t.version >= tableVersion3 {
		var sum [4]byte
		if _, err := io.ReadFull(s.idx, sum[:]); err != nil {
			s.e = fmt.Errorf("snapshot %s: index entry %d: %w", s.t.path, s.idxRead, errSnapTruncated)
			return key, 0, false
		}
		s.nxtCRC = binary.LittleEndian.Uint32(sum[:])
	}
	s.idxRead++
	return key, int64(off), true
}

// advance makes the next index entry the current one.
func (s *blockSeek) advance() bool {
	if !s.nxtOK {
		s.curOK = false
		return false
	}
	s.curKey, s.nxtKey = s.nxtKey, s.curKey
	s.curOff, s.curCRC, s.curOK = s.nxtOff, s.nxtCRC, true
	s.nxtKey, s.nxtOff, s.nxtOK = s.readIndex(s.nxtKey, s.curOff)
	return s.e == nil
}

func (s *blockSeek) start() bool {
	s.started = true
	s.nxtKey, s.nxtOff, s.nxtOK = s.readIndex(nil, 0)
	if s.e != nil {
		return false
	}
	return s.advance()
}

// loadCur reads and decodes the current index entry's block.
func (s *blockSeek) loadCur() bool {
	if err := s.ctx.Err(); err != nil {
		s.e = err
		return false
	}
	end := s.t.indexOff
	if s.nxtOK {
		end = s.nxtOff
	}
	n := end - s.curOff
	if n <= 0 || n > 2*maxEntryPart {
		s.e = s.b.corrupt(s.curOff, "block length")
		return false
	}
	if int64(cap(s.b.scratch)) < n {
		s.b.scratch = make([]byte, n)
	}
	stored := s.b.scratch[:n]
	if _, err := s.t.f.ReadAt(stored, s.curOff); err != nil {
		s.e = fmt.Errorf("snapshot %s: block at %d: %w", s.t.path, s.curOff, err)
		return false
	}
	if err := s.b.load(stored, s.curOff, s.curCRC); err != nil {
		s.e = err
		return false
	}
	s.blk, s.have = s.curOff, false
	s.loaded++
	ok, err := s.b.nextEntry(s.curOff)
	if err != nil || !ok || !bytes.Equal(s.b.k, s.curKey) {
		s.e = s.b.corrupt(s.curOff, "first key (does not match the index)")
		return false
	}
	s.have = true
	return true
}

func (s *blockSeek) seekGE(k []byte) bool {
	if s.e != nil {
		return false
	}
	if !s.started && !s.start() {
		return false
	}
	if s.have && bytes.Compare(s.b.k, k) >= 0 {
		return true
	}
	if !s.curOK {
		return false
	}
	// skip whole blocks whose successor still starts at or below k
	for s.nxtOK && bytes.Compare(s.nxtKey, k) <= 0 {
		if !s.advance() {
			return false
		}
	}
	if s.blk != s.curOff && !s.loadCur() {
		return false
	}
	for {
		if s.have && bytes.Compare(s.b.k, k) >= 0 {
			return true
		}
		ok, err := s.b.nextEntry(s.curOff)
		if err != nil {
			s.e = err
			return false
		}
		if ok {
			s.have = true
			continue
		}
		// past this block's last entry: the next block starts above k
		s.have = false
		if !s.advance() || !s.loadCur() {
			return false
		}
	}
}

func (s *blockSeek) key() []byte   { return s.b.k }
func (s *blockSeek) row() []byte   { return s.b.r }
func (s *blockSeek) id() []byte    { return s.b.id }
func (s *blockSeek) removed() bool { return s.b.rm }
func (s *blockSeek) err() error    { return s.e }
func (s *blockSeek) close() error  { s.b.release(); return nil }

// legacyIter reads a format 1 stream (which has no removals).
type legacyIter struct {
	r   *snapReader
	cur bool
}

func (l *legacyIter) next() bool {
	l.cur = l.r.Next()
	return l.cur
}

func (l *legacyIter) seekGE(k []byte) bool {
	if l.cur && bytes.Compare(l.r.key, k) >= 0 {
		return true
	}
	for l.next() {
		if bytes.Compare(l.r.key, k) >= 0 {
			return true
		}
	}
	return false
}

func (l *legacyIter) key() []byte   { return l.r.key }
func (l *legacyIter) row() []byte   { return l.r.row }
func (l *legacyIter) id() []byte    { return nil }
func (l *legacyIter) removed() bool { return false }
func (l *legacyIter) err() error    { return l.r.Err() }
func (l *legacyIter) close() error  { return l.r.Close() }
