package httpkit

import (
	"net/url"
	"strings"

	"github.com/hoist-dev/hoist/connector"
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
