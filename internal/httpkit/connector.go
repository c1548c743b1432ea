package httpkit

import (
	"net/url"
	"strings"
	"time"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/internal/quota"
	"github.com/hoist-dev/hoist/sync/spec"
)

// Type is the connection type of an HTTP API.
const Type = "http"

func init() {
	connector.Register(connector.Spec{Type: Type, Summary: "an HTTP JSON API (source, destination)",
		NewConfig: func() connector.Config { return &Config{} }})
}

// Config is an http connection's keys.
type Config struct {
	BaseURL string `yaml:"base_url" doc:"http:// or https:// URL every path is relative to"`
	// Headers are sent with every request; their values are secrets.
	Headers   map[string]spec.Secret `yaml:"headers" doc:"map of header to value; values are secrets, masked everywhere"`
	RateLimit *RateLimit             `yaml:"rate_limit" doc:"token bucket shared by every loader of every sync using the connection"`
	// Timeout bounds one attempt (DefaultHTTPTimeout if unset).
	Timeout    spec.Duration `yaml:"timeout" doc:"per request, a duration (default 30s)"`
	MaxRetries *int          `yaml:"max_retries" doc:"retries of 429, 5xx, timeouts and resets (default 5)"`
	// MaxConcurrency caps adaptive concurrency for an http destination.
	MaxConcurrency int `yaml:"max_concurrency" doc:"cap of the adaptive request concurrency (default 16, at most 1024)"`
	// DailyBudget bounds the requests sent a day, across runs.
	DailyBudget *DailyBudget `yaml:"daily_budget" doc:"a daily request budget, counted in state across runs and syncs; when spent the run stops as partial"`
}

// DailyBudget is a connection's daily request budget (see internal/quota).
type DailyBudget struct {
	Requests        int64  `yaml:"requests" doc:"most requests sent a day on this connection, counted in state across runs and syncs (0: not counted)"`
	Reserve         int64  `yaml:"reserve" doc:"stop once the API says no more than this many are left today (remaining_header), leaving them to other integrations"`
	RemainingHeader string `yaml:"remaining_header" doc:"header in which the API says how many requests are left today"`
	Timezone        string `yaml:"timezone" doc:"IANA time zone the API's day runs in (default UTC)"`
}

// Validate reports problems with a daily_budget block; field is its path.
func (b *DailyBudget) Validate(field string, p connector.Problems) {
	if b == nil {
		return
	}
	if b.Requests < 0 {
		p.Add(field+".requests", "must not be negative")
	}
	if b.Reserve < 0 {
		p.Add(field+".reserve", "must not be negative")
	}
	if b.Reserve > 0 && b.RemainingHeader == "" {
		p.Add(field+".reserve", "a reserve needs remaining_header: where the API says how many requests are left")
	}
	if b.Requests == 0 && b.RemainingHeader == "" {
		p.Add(field, "set requests (a daily count) or remaining_header (what the API says is left)")
	}
	if _, err := b.Location(); err != nil {
		p.Add(field+".timezone", "%v", err)
	}
}

// Location is the time zone of the budget's day.
func (b *DailyBudget) Location() (*time.Location, error) {
	if b == nil || b.Timezone == "" {
		return time.UTC, nil
	}
	return time.LoadLocation(b.Timezone)
}

// Quota is the budget's quota settings for connection name at address.
func (b *DailyBudget) Quota(name, address string) quota.Config {
	loc, _ := b.Location()
	return quota.Config{Name: name + " " + address, Limit: b.Requests, Reserve: b.Reserve, RemainingHeader: b.RemainingHeader, Location: loc}
}

// RateLimit is a token bucket shared by every loader of a connection.
type RateLimit struct {
	RequestsPerSecond float64 `yaml:"requests_per_second" doc:"tokens per second, greater than 0"`
	Burst             int     `yaml:"burst" doc:"bucket size"`
}

// Validate implements connector.Config.
func (c *Config) Validate(p connector.Problems) {
	if c.BaseURL == "" {
		p.Add("base_url", "base_url is required")
	} else if !strings.HasPrefix(c.BaseURL, "http://") && !strings.HasPrefix(c.BaseURL, "https://") {
		p.Add("base_url", "base_url must start with http:// or https://")
	}
	if c.RateLimit != nil && c.RateLimit.RequestsPerSecond <= 0 {
		p.Add("rate_limit.requests_per_second", "must be greater than 0")
	}
	if c.MaxRetries != nil && *c.MaxRetries < 0 {
		p.Add("max_retries", "must not be negative")
	}
	if c.MaxConcurrency < 0 || c.MaxConcurrency > spec.MaxConcurrency {
		p.Add("max_concurrency", "must be between 0 (no cap) and %d (got %d)", spec.MaxConcurrency, c.MaxConcurrency)
	}
	c.DailyBudget.Validate("daily_budget", p)
}

// Address implements connector.Config: base_url without credentials, query
// or fragment.
func (c *Config) Address() string {
	u, err := url.Parse(c.BaseURL)
	if err != nil {
		return ""
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}
