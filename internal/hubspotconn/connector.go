// Package hubspotconn is the hubspot connection type: a HubSpot account
// reached with a private app's access token, its rate limits by account
// tier, and its daily request budget.
package hubspotconn

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/internal/httpkit"
	"github.com/hoist-dev/hoist/sync/spec"
)

// Type is the connection type.
const Type = "hubspot"

// DefaultBaseURL is HubSpot's API root.
const DefaultBaseURL = "https://api.hubapi.com"

// Tier is an account tier's documented limits for a private app: requests
// per ten seconds (per app) and per day (per account).
type Tier struct {
	Name        string
	TenSecondly int
	Daily       int64
}

// Tiers are HubSpot's documented private-app limits (usage guidelines):
// Free and Starter 100 per 10 s and 250,000 a day, Professional 190 and
// 625,000, Enterprise 190 and 1,000,000; the API limit increase raises them
// to 250 per 10 s and 1,000,000 a day more.
var Tiers = map[string]Tier{
	"free":         {"free", 100, 250_000},
	"starter":      {"starter", 100, 250_000},
	"professional": {"professional", 190, 625_000},
	"enterprise":   {"enterprise", 190, 1_000_000},
	"api_add_on":   {"api_add_on", 250, 1_625_000},
}

// DefaultTier is the tier assumed when the spec names none.
const DefaultTier = "professional"

// Headers HubSpot answers every request with.
const (
	HeaderDailyRemaining  = "X-HubSpot-RateLimit-Daily-Remaining"
	HeaderRemaining       = "X-HubSpot-RateLimit-Remaining"
	HeaderMax             = "X-HubSpot-RateLimit-Max"
	HeaderIntervalMillis  = "X-HubSpot-RateLimit-Interval-Milliseconds"
	defaultReserveShare   = 10 // a tenth of the day is left to other integrations
	tenSeconds            = 10 * time.Second
	defaultMaxConcurrency = 32
)

func init() {
	connector.Register(connector.Spec{Type: Type, Summary: "a HubSpot account's CRM (destination)",
		NewConfig: func() connector.Config { return &Config{} }})
}

// Config is a hubspot connection's keys.
type Config struct {
	// Token is a private app's access token.
	Token   spec.Secret `yaml:"token" doc:"private app access token (a secret: masked everywhere)"`
	BaseURL string      `yaml:"base_url" doc:"API root (default https://api.hubapi.com; a fake's address in tests)"`
	Tier    string      `yaml:"tier" doc:"account tier the default limits come from: free, starter, professional (default), enterprise or api_add_on"`
	// RequestsPer10s overrides the tier's ten-secondly limit.
	RequestsPer10s int `yaml:"requests_per_10s" doc:"requests sent in any ten seconds (default: the tier's limit, 190 on professional)"`
	// DailyBudget bounds the requests sent a day; by default hoist stops
	// when a tenth of the tier's daily limit is left, as HubSpot's
	// X-HubSpot-RateLimit-Daily-Remaining says.
	DailyBudget    *httpkit.DailyBudget `yaml:"daily_budget" doc:"daily request budget (default: stop when a tenth of the tier's daily limit is left, read from X-HubSpot-RateLimit-Daily-Remaining; the day runs in timezone, the account's)"`
	Timeout        spec.Duration        `yaml:"timeout" doc:"per request, a duration (default: 20 times HubSpot's usual latency, between 5s and 30s)"`
	MaxRetries     *int                 `yaml:"max_retries" doc:"retries of 5xx, timeouts and resets (default 5); ten-secondly 429s are waited out, not counted"`
	MaxConcurrency int                  `yaml:"max_concurrency" doc:"cap of the adaptive request concurrency (default 32)"`
}

// Validate implements connector.Config.
func (c *Config) Validate(p connector.Problems) {
	if c.Token == "" {
		p.Add("token", "token is required: a private app's access token (Settings → Integrations → Private apps)")
	}
	if c.BaseURL != "" && !strings.HasPrefix(c.BaseURL, "http://") && !strings.HasPrefix(c.BaseURL, "https://") {
		p.Add("base_url", "base_url must start with http:// or https://")
	}
	if _, ok := Tiers[c.tierName()]; !ok {
		p.Add("tier", "unknown tier %q (want free, starter, professional, enterprise or api_add_on)", c.Tier)
	}
	if c.RequestsPer10s < 0 {
		p.Add("requests_per_10s", "must not be negative")
	}
	if c.MaxRetries != nil && *c.MaxRetries < 0 {
		p.Add("max_retries", "must not be negative")
	}
	if c.MaxConcurrency < 0 || c.MaxConcurrency > spec.MaxConcurrency {
		p.Add("max_concurrency", "must be between 0 and %d (got %d)", spec.MaxConcurrency, c.MaxConcurrency)
	}
	if c.DailyBudget != nil {
		b := c.Budget()
		b.Validate("daily_budget", p)
	}
}

func (c *Config) tierName() string {
	if c.Tier == "" {
		return DefaultTier
	}
	return strings.ToLower(c.Tier)
}

// TierLimits returns the connection's tier.
func (c *Config) TierLimits() Tier { return Tiers[c.tierName()] }

// TenSecondly is the connection's requests per ten seconds.
func (c *Config) TenSecondly() int {
	if c.RequestsPer10s > 0 {
		return c.RequestsPer10s
	}
	return c.TierLimits().TenSecondly
}

// Budget is the connection's daily budget with HubSpot's defaults filled
// in: the daily-remaining header is always read, and the reserve is a
// tenth of the tier's daily limit unless set.
func (c *Config) Budget() *httpkit.DailyBudget {
	b := httpkit.DailyBudget{}
	if c.DailyBudget != nil {
		b = *c.DailyBudget
	}
	b.RemainingHeader = HeaderDailyRemaining
	if c.DailyBudget == nil || (c.DailyBudget.Reserve == 0 && c.DailyBudget.Requests == 0) {
		b.Reserve = c.TierLimits().Daily / defaultReserveShare
	}
	return &b
}

// Base is the API root.
func (c *Config) Base() string {
	if c.BaseURL == "" {
		return DefaultBaseURL
	}
	return strings.TrimSuffix(c.BaseURL, "/")
}

// Address implements connector.Config: the API root, no credentials.
func (c *Config) Address() string {
	u, err := url.Parse(c.Base())
	if err != nil {
		return ""
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}

// HTTP is the http client configuration the connection makes: the token as
// a bearer header (a secret, scrubbed from every message), no token bucket
// (a Window paces it: see Window).
func (c *Config) HTTP() *httpkit.Config {
	conc := c.MaxConcurrency
	if conc == 0 {
		conc = defaultMaxConcurrency
	}
	return &httpkit.Config{
		BaseURL:        c.Base(),
		Headers:        map[string]spec.Secret{"Authorization": spec.Secret("Bearer " + c.Token.Reveal())},
		Timeout:        c.Timeout,
		MaxRetries:     c.MaxRetries,
		MaxConcurrency: conc,
	}
}

// Window is the connection's ten-second rolling window, shared by every
// sync on it in the process.
func (c *Config) Window(name string) *httpkit.Window {
	return httpkit.SharedWindow(fmt.Sprintf("hubspot\x00%s\x00%s", name, c.Base()), c.TenSecondly(), tenSeconds).
		WithRemainingHeader(HeaderRemaining)
}
