package crmtest

import (
	"encoding/json"
	"net/http"
)

// StatsPath serves the counters as JSON when the fake runs as a command.
const StatsPath = "/_stats"

// StatsReport is what StatsPath answers.
type StatsReport struct {
	Stats
	Records int `json:"records"`
}

// WithStats wraps the fake so that GET /_stats reports its counters; that
// request is not counted, limited or faulted.
func (s *Server) WithStats() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != StatsPath {
			s.ServeHTTP(w, r)
			return
		}
		s.mu.Lock()
		n := len(s.records)
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(StatsReport{Stats: s.Stats(), Records: n})
	})
}
