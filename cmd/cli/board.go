package cli

import (
	"fmt"
	"io"
	stdsync "sync"
	"time"

	hsync "github.com/hoist-dev/hoist/sync"
)

// board shows the progress of syncs run at once (run --parallel): one line
// per running sync, in the order they started, redrawn in place. Single
// progress bars would overwrite each other's line. Log lines are written
// through the board (Write), above it, so they do not tear its lines. A
// finished sync's line goes away, as a finished bar clears itself; its
// report comes with the others at the end.
type board struct {
	w   io.Writer
	now func() time.Time

	mu    stdsync.Mutex
	bars  []*boardBar // running syncs, in start order
	drawn int         // lines of the board on the terminal now
	shown time.Time   // when it was last drawn
}

func newBoard(w io.Writer) *board { return &board{w: w, now: time.Now} }

// boardBar is one sync's line; it implements sync.Progress and sync.Phaser.
type boardBar struct {
	b     *board
	name  string
	total int64 // -1 until known
	rows  int64
	first time.Time
	phase string
}

var (
	_ hsync.Progress = (*boardBar)(nil)
	_ hsync.Phaser   = (*boardBar)(nil)
)

// bar adds a line for a sync that starts loading.
func (b *board) bar(name string) hsync.Progress {
	b.mu.Lock()
	defer b.mu.Unlock()
	bb := &boardBar{b: b, name: name, total: -1}
	b.bars = append(b.bars, bb)
	b.draw(true)
	return bb
}

func (bb *boardBar) Total(n int64) {
	bb.b.mu.Lock()
	defer bb.b.mu.Unlock()
	bb.total = n
	bb.b.draw(false)
}

func (bb *boardBar) Add(n int) {
	bb.b.mu.Lock()
	defer bb.b.mu.Unlock()
	if bb.first.IsZero() {
		bb.first = bb.b.now()
	}
	bb.rows += int64(n)
	bb.b.draw(false)
}

// Phase is drawn at once, as the single bar draws it.
func (bb *boardBar) Phase(what string) {
	bb.b.mu.Lock()
	defer bb.b.mu.Unlock()
	bb.phase = what
	bb.b.draw(true)
}

func (bb *boardBar) Finish() {
	b := bb.b
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, x := range b.bars {
		if x == bb {
			b.bars = append(b.bars[:i], b.bars[i+1:]...)
			break
		}
	}
	b.draw(true)
}

// Write puts a log line above the board.
func (b *board) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.clear()
	n, err := b.w.Write(p)
	b.draw(true)
	return n, err
}

// draw redraws the board, at most every barThrottle unless forced.
func (b *board) draw(force bool) {
	now := b.now()
	if !force && now.Sub(b.shown) < barThrottle {
		return
	}
	b.shown = now
	b.clear()
	for _, bb := range b.bars {
		fmt.Fprintln(b.w, bb.line(now))
	}
	b.drawn = len(b.bars)
}

// clear erases the board: up to its first line, then to the end of the
// screen.
func (b *board) clear() {
	if b.drawn > 0 {
		fmt.Fprintf(b.w, "\x1b[%dA\x1b[J", b.drawn)
		b.drawn = 0
	}
}

func (bb *boardBar) line(now time.Time) string {
	if bb.phase != "" {
		return fmt.Sprintf("%s: %s (%d rows delivered)", bb.name, bb.phase, bb.rows)
	}
	s := fmt.Sprintf("%s: %d", bb.name, bb.rows)
	if bb.total >= 0 {
		s += fmt.Sprintf("/%d", bb.total)
	}
	s += " rows"
	if d := now.Sub(bb.first); !bb.first.IsZero() && d >= rateAfter {
		s += fmt.Sprintf(" (%s rows/s)", rate(bb.rows, d))
	}
	return s
}
