package sync

// Progress receives delivered row counts of one sync (a terminal progress bar).
type Progress interface {
	// Total says how many rows will be sent, once known (after the diff).
	Total(rows int64)
	Add(rows int)
	Finish()
}

// Phaser is a Progress that can also show what a run does when it sends no
// rows, such as the state commit, which can take a while on a large
// snapshot: without it a bar looks stuck.
type Phaser interface {
	Phase(what string)
}

// phase tells the run's progress reporter, if it can show phases, what the
// run is doing now.
func (l *loadStage) phase(what string) {
	if p, ok := l.progress.(Phaser); ok {
		p.Phase(what)
	}
}
