package hubspottest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// StatsPath serves the counters as JSON when the fake runs as a command
// (cmd/fakehubspot), so a benchmark or a demo can see what it received.
const StatsPath = "/_stats"

// WithStats wraps the fake so that GET /_stats reports its counters; that
// request is not counted, limited or faulted.
func (s *Server) WithStats() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != StatsPath {
			s.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.Stats())
	})
}

// FaultMix is the fault mix the benchmark and the demo command's -faults
// flag use: 5% of requests answered 500/502/503 unapplied, 2% applied and
// never answered (the client's timeout ends them), 5% slowed by 200ms, a
// connection reset every 500th request, and every 300th request starting a
// burst of five ten-secondly 429s. A client that retries and paces well
// keeps above 80% of the limit under it: about 7% of requests fail by
// design and the 429 bursts cost a second's wait each.
func FaultMix(cfg Config) Config {
	cfg.ErrorRate, cfg.TimeoutRate, cfg.SlowRate = 0.05, 0.02, 0.05
	cfg.SlowDelay = 200 * time.Millisecond
	cfg.ResetEvery, cfg.Throttle429Every, cfg.Throttle429Len = 500, 300, 5
	return cfg
}

// DefineObject adds a custom object type with its properties (as
// HubSpot's schemas API does), or adds the properties to a type the fake
// already has.
func (s *Server) DefineObject(objectType string, props ...Property) {
	s.mu.Lock()
	defer s.mu.Unlock()
	objectType = strings.ToLower(objectType)
	if _, ok := s.catalogs[objectType]; !ok {
		s.catalogs[objectType] = defaultProperties(objectType)
	}
	s.catalogs[objectType] = append(s.catalogs[objectType], props...)
	idx := map[string]int{}
	for i, p := range s.catalogs[objectType] {
		idx[p.Name] = i
	}
	s.index[objectType] = idx
}

// ParseProperty reads a property from the command line's form
// "name:type[:option|option…]", type one of string, unique (a string with
// unique values), number, date, datetime, bool, enum (single choice) or
// multienum (multiple checkboxes, values joined with ";").
func ParseProperty(def string) (Property, error) {
	parts := strings.SplitN(def, ":", 3)
	if len(parts) < 2 || parts[0] == "" {
		return Property{}, fmt.Errorf("property %q: want name:type[:options]", def)
	}
	name, typ := parts[0], parts[1]
	var opts []string
	if len(parts) == 3 && parts[2] != "" {
		opts = strings.Split(parts[2], "|")
	}
	needOpts := typ == "enum" || typ == "multienum"
	if needOpts != (len(opts) > 0) {
		if needOpts {
			return Property{}, fmt.Errorf("property %q: an %s property needs its options (name:%s:a|b|c)", def, typ, typ)
		}
		return Property{}, fmt.Errorf("property %q: only enum and multienum properties take options", def)
	}
	switch typ {
	case "string":
		return StringProperty(name), nil
	case "unique":
		return UniqueProperty(name), nil
	case "number":
		return NumberProperty(name), nil
	case "date":
		return DateProperty(name), nil
	case "datetime":
		return DateTimeProperty(name), nil
	case "bool":
		return BoolProperty(name), nil
	case "enum", "multienum":
		return EnumProperty(name, typ == "multienum", opts...), nil
	}
	return Property{}, fmt.Errorf("property %q: unknown type %q (want string, unique, number, date, datetime, bool, enum or multienum)", def, typ)
}

// MeanPer10s is the mean count of bins (per second, as Stats.PerSecond and
// OKPerSecond) over every ten-second window that ends before the last,
// partial, second: what a client achieved in each ten seconds of its run.
// A run shorter than eleven seconds has no such window (0).
func MeanPer10s(bins []int) float64 {
	windows := len(bins) - 10
	if windows < 1 {
		return 0
	}
	sum, total := 0, 0
	for k, n := range bins[:len(bins)-1] {
		sum += n
		if k >= 10 {
			sum -= bins[k-10]
		}
		if k >= 9 {
			total += sum
		}
	}
	return float64(total) / float64(windows)
}
