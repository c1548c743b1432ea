// Package shard splits a sync's rows among N runners by a hash of their
// primary key, the same hash wherever it is computed: pushed down into a
// source's SQL (sql.go) or in Go after reading (Of).
//
// A row's shard is md5 of its key text, first four bytes read as a
// big-endian unsigned integer, modulo N. The key text is each key column's
// text (empty for NULL) joined by the unit separator U+001F. md5 is
// available with the same output in PostgreSQL, MySQL/MariaDB, Snowflake and
// Go, so a row belongs to the same shard whichever source reads it and
// whether the filter ran in the database or here; a database's own hash
// (hashtext, CRC32, Snowflake's HASH) would not match Go's.
package shard

import (
	"crypto/md5"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// Sep joins the texts of a composite key's columns.
const Sep = "\x1f"

// Spec is one shard of a sharded run: Index in 0 … Count-1, as Kubernetes
// numbers an Indexed Job's pods (JOB_COMPLETION_INDEX). The zero Spec (and
// Count 1) is an unsharded run.
type Spec struct {
	Index, Count int
}

// Parse reads "I/N" (0 <= I < N).
func Parse(s string) (Spec, error) {
	is, ns, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Spec{}, fmt.Errorf("shard %q: want I/N, e.g. 0/4 (I counts from 0, like JOB_COMPLETION_INDEX)", s)
	}
	i, err1 := strconv.Atoi(strings.TrimSpace(is))
	n, err2 := strconv.Atoi(strings.TrimSpace(ns))
	if err1 != nil || err2 != nil {
		return Spec{}, fmt.Errorf("shard %q: want I/N with whole numbers, e.g. 0/4", s)
	}
	return New(i, n)
}

// New checks and returns shard i of n.
func New(i, n int) (Spec, error) {
	if n < 1 {
		return Spec{}, fmt.Errorf("shard count %d: want at least 1", n)
	}
	if i < 0 || i >= n {
		return Spec{}, fmt.Errorf("shard %d/%d: the index must be 0 … %d", i, n, n-1)
	}
	return Spec{Index: i, Count: n}, nil
}

// Sharded reports whether the run holds a part of the rows only.
func (s Spec) Sharded() bool { return s.Count > 1 }

// String is "I/N", "" when unsharded.
func (s Spec) String() string {
	if !s.Sharded() {
		return ""
	}
	return strconv.Itoa(s.Index) + "/" + strconv.Itoa(s.Count)
}

// Hash is the 32-bit hash of a key text.
func Hash(keyText []byte) uint32 {
	sum := md5.Sum(keyText)
	return binary.BigEndian.Uint32(sum[:4])
}

// Of is the shard (0 … n-1) of a key text.
func Of(keyText []byte, n int) int { return int(Hash(keyText) % uint32(n)) }

// Holds reports whether the key text belongs to this shard; every key does
// when unsharded.
func (s Spec) Holds(keyText []byte) bool {
	return !s.Sharded() || Of(keyText, s.Count) == s.Index
}
