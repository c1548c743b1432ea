package cli

import (
	"bytes"
	"fmt"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	hsync "github.com/hoist-dev/hoist/sync"
)

// lockedBuffer is a terminal the test reads while progressbar's own
// goroutine (a spinner's ticker) may be writing to it.
type lockedBuffer struct {
	mu  stdsync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// take returns what was written so far and empties the buffer.
func (l *lockedBuffer) take() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.buf.String()
	l.buf.Reset()
	return s
}

// TestBarFrames: the progress bar's first frame shows no rate (never
// "0 rows/hr"), a rate once rows have flowed, in rows/s, and a phase
// change is drawn at once however recent the last frame was, also once
// every row is delivered (a complete bar draws nothing more).
func TestBarFrames(t *testing.T) {
	var out lockedBuffer
	b := newBar(&IO{Err: &out}, "people")
	clock := time.Unix(1000, 0)
	b.now = func() time.Time { return clock }
	frame := func() string { // what the terminal shows now
		s := out.take()
		if i := strings.LastIndex(s, "\r"); i >= 0 {
			s = s[i+1:]
		}
		return s
	}
	b.Total(2100)

	b.Add(200)
	first := frame()
	if !strings.Contains(first, "people") || !strings.Contains(first, "200") || strings.Contains(first, "/hr") || strings.Contains(first, "rows/") {
		t.Fatalf("first frame %q: want the name and count, no rate", first)
	}
	for i := 0; i < 9; i++ {
		clock = clock.Add(100 * time.Millisecond)
		b.Add(200)
	}
	if got := frame(); !strings.Contains(got, "people (2222 rows/s)") || !strings.Contains(got, "2000/2100") {
		t.Fatalf("after 0.9s: %q, want 2000 rows in 0.9s (2222 rows/s)", got)
	}
	clock = clock.Add(10 * time.Millisecond) // within the throttle
	b.Add(100)
	if got := frame(); got != "" {
		t.Fatalf("a frame within the throttle: %q", got)
	}
	b.Phase("committing state") // every row delivered
	if got := frame(); !strings.Contains(got, "people: committing state (2100 rows delivered)") {
		t.Fatalf("phase frame %q, want the phase and every row", got)
	}
	clock = clock.Add(time.Second)
	b.Add(100) // a final batch, delivered with the state commit
	if got := frame(); !strings.Contains(got, "people: committing state (2200 rows delivered)") {
		t.Fatalf("the phase did not stay: %q", got)
	}
	if got := rate(3, 2*time.Second); got != "1.5" {
		t.Fatalf("rate = %s", got)
	}
}

// TestBoardFrames: the board of syncs run at once draws one line per
// running sync in start order, redraws in place (cursor up, clear), puts a
// log line above itself, and drops a finished sync's line.
func TestBoardFrames(t *testing.T) {
	var out lockedBuffer
	b := newBoard(&out)
	clock := time.Unix(1000, 0)
	b.now = func() time.Time { return clock }
	// the screen after the last frame: what follows the last clear
	screen := func() string {
		s := out.take()
		if i := strings.LastIndex(s, "\x1b[J"); i >= 0 {
			s = s[i+len("\x1b[J"):]
		}
		return s
	}
	people, orders := b.bar("people"), b.bar("orders")
	if got := screen(); got != "people: 0 rows\norders: 0 rows\n" {
		t.Fatalf("two bars: %q", got)
	}
	people.Total(1000)
	people.Add(100) // within the throttle: no frame
	if got := out.take(); got != "" {
		t.Fatalf("frame within the throttle: %q", got)
	}
	clock = clock.Add(time.Second)
	people.Add(400)
	s := out.take()
	if !strings.HasPrefix(s, "\x1b[2A\x1b[J") || !strings.HasSuffix(s, "people: 500/1000 rows (500 rows/s)\norders: 0 rows\n") {
		t.Fatalf("redraw: %q, want the two lines redrawn in place", s)
	}
	orders.(hsync.Phaser).Phase("committing state")
	if got := screen(); got != "people: 500/1000 rows (500 rows/s)\norders: committing state (0 rows delivered)\n" {
		t.Fatalf("phase: %q", got)
	}
	fmt.Fprint(b, "level=INFO msg=\"sync finished\" sync=orders\n")
	s = out.take()
	if !strings.HasPrefix(s, "\x1b[2A\x1b[Jlevel=INFO msg=\"sync finished\" sync=orders\npeople:") {
		t.Fatalf("log line: %q, want it above the redrawn board", s)
	}
	orders.Finish()
	if got := screen(); got != "people: 500/1000 rows (500 rows/s)\n" {
		t.Fatalf("after orders finished: %q", got)
	}
	people.Finish()
	if got := out.take(); got != "\x1b[1A\x1b[J" {
		t.Fatalf("after every sync finished: %q, want the board erased", got)
	}
}
