package extract

import (
	"context"
	"errors"
	"path/filepath"
	stdsync "sync"

	"github.com/apache/arrow-go/v18/arrow/array"
)

// Shared keeps the sources of a run of many syncs open, one per connection,
// for every sync that reads it: `hoist run` with 200 syncs on one SQLite
// database would otherwise open the file 200 times and parse its whole
// schema each time. Only types marked with MarkShareable are kept: a source
// whose Read holds one connection of a bounded pool for as long as its rows
// stream could be starved by the other syncs sharing the pool.
type Shared struct {
	mu      stdsync.Mutex
	sources map[string]*sharedSource
	closed  bool
}

// NewShared returns an empty set; Close it when the run ends.
func NewShared() *Shared { return &Shared{sources: map[string]*sharedSource{}} }

type sharedKey struct{}

// WithShared makes Open, under the returned context, keep the sources of
// shareable types in s.
func WithShared(ctx context.Context, s *Shared) context.Context {
	return context.WithValue(ctx, sharedKey{}, s)
}

var shareable stdsync.Map // type name → true

// MarkShareable says that a source type's opened Source may serve many
// syncs at once (its Read is safe for concurrent use and needs no bounded
// resource for the whole of its stream).
func MarkShareable(typ string) { shareable.Store(typ, true) }

// sharedSource is a kept source; its Close is the run's, not a sync's.
type sharedSource struct {
	Source
	mu stdsync.Mutex // held while opening
}

func (s *sharedSource) Close() error { return nil }

// open returns the kept source of the connection, opening it once.
func (s *Shared) open(ctx context.Context, key string, o func() (Source, error)) (Source, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, errors.New("the run's shared sources are closed")
	}
	src := s.sources[key]
	if src == nil {
		src = &sharedSource{}
		s.sources[key] = src
	}
	s.mu.Unlock()
	src.mu.Lock()
	defer src.mu.Unlock()
	if src.Source == nil {
		// A failed open is not kept: a later sync tries again, as it did
		// when every sync opened its own (an earlier sync may create the
		// file meanwhile).
		opened, err := o()
		if err != nil {
			return nil, err
		}
		src.Source = opened
	}
	return src, nil
}

// Close closes every kept source.
func (s *Shared) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	var errs []error
	for _, src := range s.sources {
		src.mu.Lock()
		defer src.mu.Unlock()
		if src.Source != nil {
			errs = append(errs, src.Source.Close())
		}
	}
	s.sources = nil
	return errors.Join(errs...)
}

// sharedOpen is Open through the context's Shared, when it has one and the
// type is shareable.
func sharedOpen(ctx context.Context, typ, name, dir string, o func() (Source, error)) (Source, error) {
	s, _ := ctx.Value(sharedKey{}).(*Shared)
	if _, ok := shareable.Load(typ); !ok || s == nil {
		return o()
	}
	return s.open(ctx, typ+"\x00"+name+"\x00"+filepath.Clean(dir), o)
}

// AsObjectReader returns src as an ObjectReader (a source that can read a
// destination object back, for --refresh), looking through a kept source.
func AsObjectReader(src Source) (ObjectReader, bool) {
	if s, ok := src.(*sharedSource); ok {
		src = s.Source
	}
	r, ok := src.(ObjectReader)
	return r, ok
}

// SQLReader is a source that runs a statement hoist wrote itself (the
// warehouse diff's query, sync/warehouse*.go) and streams its result as it
// streams a sync's query.
type SQLReader interface {
	ReadSQL(ctx context.Context, req Request, q SQLQuery) (array.RecordReader, error)
}

// SQLQuery is a statement for SQLReader: Before runs first, in the read's
// transaction (SET LOCAL work_mem …).
type SQLQuery struct {
	SQL    string
	Args   []any
	Before []string
}

// AsSQLReader returns src as an SQLReader, looking through a kept source.
func AsSQLReader(src Source) (SQLReader, bool) {
	if s, ok := src.(*sharedSource); ok {
		src = s.Source
	}
	r, ok := src.(SQLReader)
	return r, ok
}
