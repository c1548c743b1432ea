// Package salesforceconn is the salesforce connection type: a Salesforce
// org reached through OAuth 2.0 (the JWT bearer flow with a connected app's
// certificate, or the client credentials flow), its REST and Bulk API 2.0
// version, and its limits.
package salesforceconn

import (
	"crypto/rsa"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/internal/httpkit"
	"github.com/hoist-dev/hoist/internal/quota"
	"github.com/hoist-dev/hoist/sync/spec"
)

// Type is the connection type.
const Type = "salesforce"

const (
	// DefaultLoginURL is where production orgs authenticate (the JWT's
	// audience too); sandboxes use https://test.salesforce.com.
	DefaultLoginURL = "https://login.salesforce.com"
	// DefaultAPIVersion is the REST and Bulk API version used when the spec
	// names none (Winter '25).
	DefaultAPIVersion = "62.0"
	// The two OAuth flows hoist speaks.
	AuthJWT               = "jwt"
	AuthClientCredentials = "client_credentials"
	// Bulk API 2.0's documented limits: 150,000,000 records a rolling 24
	// hours per org, 15,000 batches (Salesforce cuts a job's data into
	// internal batches of 10,000 records) shared with Bulk API 1.0, and at
	// most 150 MB of CSV in one job's upload (100 MB recommended, as base64
	// inflation on the server counts against the 150).
	DefaultBulkRecordsPerDay = 150_000_000
	DefaultBulkBatchesPerDay = 15_000
	BulkBatchRecords         = 10_000
	MaxJobBytes              = 150 << 20
	DefaultJobBytes          = 100 << 20
	// LimitInfoHeader is the header every REST answer carries:
	// "api-usage=18/15000", requests used today of the org's daily limit.
	LimitInfoHeader       = "Sforce-Limit-Info"
	defaultReserveShare   = 10 // a tenth of the org's daily API requests are left to others
	defaultMaxConcurrency = 16
)

var apiVersionRe = regexp.MustCompile(`^v?\d{2,3}\.0$`)

func init() {
	connector.Register(connector.Spec{Type: Type, Summary: "a Salesforce org's sObjects through REST and Bulk API 2.0 (destination)",
		NewConfig: func() connector.Config { return &Config{} }})
}

// Config is a salesforce connection's keys.
type Config struct {
	Auth     string `yaml:"auth" doc:"OAuth 2.0 flow: jwt (JWT bearer with a connected app's certificate; default when private_key or private_key_file is set) or client_credentials"`
	LoginURL string `yaml:"login_url" doc:"authorization server and the JWT's audience (default https://login.salesforce.com; https://test.salesforce.com for a sandbox)"`
	// InstanceURL is the org's My Domain URL: the token endpoint of the
	// client credentials flow, and the API root when the token answer's
	// instance_url is not to be used (a fake in tests answers its own).
	InstanceURL    string      `yaml:"instance_url" doc:"the org's My Domain URL (https://acme.my.salesforce.com): required for client_credentials; otherwise the token's instance_url is used"`
	ClientID       string      `yaml:"client_id" doc:"the connected app's consumer key (the JWT's issuer)"`
	Username       string      `yaml:"username" doc:"jwt: the user hoist acts as (the JWT's subject), pre-authorized for the connected app"`
	PrivateKey     spec.Secret `yaml:"private_key" doc:"jwt: the PEM private key of the certificate uploaded to the connected app (a secret: masked everywhere; usually ${SF_PRIVATE_KEY})"`
	PrivateKeyFile string      `yaml:"private_key_file" doc:"jwt: a file holding that PEM key instead, relative to the spec's folder"`
	ClientSecret   spec.Secret `yaml:"client_secret" doc:"client_credentials: the connected app's consumer secret (a secret: masked everywhere)"`
	APIVersion     string      `yaml:"api_version" doc:"REST and Bulk API version (default 62.0)"`
	// DailyBudget bounds the REST requests sent a day; by default hoist
	// stops when a tenth of the org's daily API requests is left, as every
	// answer's Sforce-Limit-Info says.
	DailyBudget       *httpkit.DailyBudget `yaml:"daily_budget" doc:"daily API request budget (requests, reserve, timezone; default: stop when a tenth of the org's daily limit is left, read from Sforce-Limit-Info)"`
	BulkRecordsPerDay int64                `yaml:"bulk_records_per_day" doc:"Bulk API 2.0 records hoist may send in 24 hours (default 150,000,000, the org limit); the limits resource's remaining batches are honoured too"`
	PollInterval      spec.Duration        `yaml:"poll_interval" doc:"first wait between polls of a Bulk job's state, growing by half each poll to 30s (default 2s)"`
	Timeout           spec.Duration        `yaml:"timeout" doc:"per request, a duration (default 30s; a job's upload gets ten times it)"`
	MaxRetries        *int                 `yaml:"max_retries" doc:"retries of 5xx, timeouts, resets and UNABLE_TO_LOCK_ROW (default 5)"`
	MaxConcurrency    int                  `yaml:"max_concurrency" doc:"most requests in flight (default 16)"`
}

// Validate implements connector.Config.
func (c *Config) Validate(p connector.Problems) {
	for _, u := range []struct{ key, v string }{{"login_url", c.LoginURL}, {"instance_url", c.InstanceURL}} {
		if u.v != "" && !strings.HasPrefix(u.v, "http://") && !strings.HasPrefix(u.v, "https://") {
			p.Add(u.key, "%s must start with https:// (or http:// for a local fake)", u.key)
		}
	}
	if c.ClientID == "" {
		p.Add("client_id", "client_id is required: the connected app's consumer key (Setup → App Manager → the app → View)")
	}
	switch c.AuthFlow() {
	case AuthJWT:
		if c.Username == "" {
			p.Add("username", "auth jwt needs username: the Salesforce user hoist acts as")
		}
		switch {
		case c.PrivateKey == "" && c.PrivateKeyFile == "":
			p.Add("private_key", "auth jwt needs private_key (or private_key_file): the key of the certificate uploaded to the connected app")
		case c.PrivateKey != "" && c.PrivateKeyFile != "":
			p.Add("private_key_file", "set private_key or private_key_file, not both")
		case c.PrivateKey != "":
			if _, err := ParsePrivateKey([]byte(c.PrivateKey.Reveal())); err != nil {
				p.Add("private_key", "%v", err) // never the key itself
			}
		}
		if c.ClientSecret != "" {
			connector.Warn(p, "client_secret", "auth jwt does not use client_secret")
		}
	case AuthClientCredentials:
		if c.ClientSecret == "" {
			p.Add("client_secret", "auth client_credentials needs client_secret: the connected app's consumer secret")
		}
		if c.InstanceURL == "" {
			p.Add("instance_url", "auth client_credentials needs instance_url: the org's My Domain URL (the flow is not served by login.salesforce.com)")
		}
	default:
		p.Add("auth", "unknown auth %q (want jwt or client_credentials)", c.Auth)
	}
	if c.APIVersion != "" && !apiVersionRe.MatchString(c.APIVersion) {
		p.Add("api_version", "api_version %q is not a Salesforce API version like 62.0", c.APIVersion)
	}
	if c.BulkRecordsPerDay < 0 {
		p.Add("bulk_records_per_day", "must not be negative")
	}
	if c.PollInterval < 0 || c.PollInterval.D() > 30*time.Second {
		p.Add("poll_interval", "must be between 0 and 30s")
	}
	if c.MaxRetries != nil && *c.MaxRetries < 0 {
		p.Add("max_retries", "must not be negative")
	}
	if c.MaxConcurrency < 0 || c.MaxConcurrency > spec.MaxConcurrency {
		p.Add("max_concurrency", "must be between 0 and %d (got %d)", spec.MaxConcurrency, c.MaxConcurrency)
	}
	if c.DailyBudget != nil {
		c.Budget().Validate("daily_budget", p)
	}
}

// AuthFlow is the OAuth flow the connection uses.
func (c *Config) AuthFlow() string {
	switch {
	case c.Auth != "":
		return strings.ToLower(c.Auth)
	case c.ClientSecret != "" && c.PrivateKey == "" && c.PrivateKeyFile == "":
		return AuthClientCredentials
	}
	return AuthJWT
}

// Login is the authorization server's root.
func (c *Config) Login() string {
	if c.LoginURL == "" {
		return DefaultLoginURL
	}
	return strings.TrimSuffix(c.LoginURL, "/")
}

// Version is the API version without its "v".
func (c *Config) Version() string {
	if c.APIVersion == "" {
		return DefaultAPIVersion
	}
	return strings.TrimPrefix(c.APIVersion, "v")
}

// DataPath is the REST API's root path for the version: /services/data/v62.0.
func (c *Config) DataPath() string { return "/services/data/v" + c.Version() }

// Key reads the JWT flow's private key (private_key, or private_key_file
// relative to dir, the spec's folder).
func (c *Config) Key(dir string) (*rsa.PrivateKey, error) {
	pem := []byte(c.PrivateKey.Reveal())
	if c.PrivateKeyFile != "" {
		path := c.PrivateKeyFile
		if !filepath.IsAbs(path) && dir != "" {
			path = filepath.Join(dir, path)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("private_key_file: %w", err)
		}
		pem = b
	}
	k, err := ParsePrivateKey(pem)
	if err != nil {
		if c.PrivateKeyFile != "" {
			return nil, fmt.Errorf("private_key_file %s: %w", c.PrivateKeyFile, err)
		}
		return nil, fmt.Errorf("private_key: %w", err)
	}
	return k, nil
}

// Budget is the connection's daily REST budget with Salesforce's default:
// the reserve is a tenth of the org's limit, which every answer's
// Sforce-Limit-Info states (LimitInfo reads it).
func (c *Config) Budget() *httpkit.DailyBudget {
	b := httpkit.DailyBudget{}
	if c.DailyBudget != nil {
		b = *c.DailyBudget
	}
	b.RemainingHeader = LimitInfoHeader
	return &b
}

// BulkRecords is the Bulk API records hoist may send in 24 hours.
func (c *Config) BulkRecords() int64 {
	if c.BulkRecordsPerDay > 0 {
		return c.BulkRecordsPerDay
	}
	return DefaultBulkRecordsPerDay
}

// Poll is the first wait between polls of a job.
func (c *Config) Poll() time.Duration {
	if c.PollInterval > 0 {
		return c.PollInterval.D()
	}
	return 2 * time.Second
}

// LimitInfo reads Sforce-Limit-Info ("api-usage=18/15000"): requests left
// today and the org's daily limit.
func LimitInfo(h http.Header) (left, limit int64, ok bool) {
	for _, part := range strings.Split(h.Get(LimitInfoHeader), ",") {
		v, found := strings.CutPrefix(strings.TrimSpace(part), "api-usage=")
		if !found {
			continue
		}
		used, max, found := strings.Cut(v, "/")
		u, err1 := strconv.ParseInt(strings.TrimSpace(used), 10, 64)
		m, err2 := strconv.ParseInt(strings.TrimSpace(max), 10, 64)
		if !found || err1 != nil || err2 != nil || u < 0 || m <= 0 {
			return 0, 0, false
		}
		return m - u, m, true
	}
	return 0, 0, false
}

// Quota is the connection's daily budget settings for connection name.
func (c *Config) Quota(name string) quota.Config {
	q := c.Budget().Quota(name, c.Address())
	q.RemainingHeader = ""
	q.Remaining = LimitInfo
	if q.Reserve == 0 {
		q.ReserveShare = defaultReserveShare
	}
	return q
}

// Concurrency is the most requests in flight.
func (c *Config) Concurrency() int {
	if c.MaxConcurrency > 0 {
		return c.MaxConcurrency
	}
	return defaultMaxConcurrency
}

// Address implements connector.Config: the org (instance_url) or the login
// server, with the user, never a credential.
func (c *Config) Address() string {
	raw := c.InstanceURL
	if raw == "" {
		raw = c.Login()
	}
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	s := strings.TrimSuffix(u.String(), "/")
	if c.Username != "" {
		s += " as " + c.Username
	}
	return s
}

// Secrets are the connection's secret values, for a scrubber: none is ever
// sent in a header, but a library's error could quote one.
func (c *Config) Secrets() []spec.Secret {
	var out []spec.Secret
	for _, s := range []spec.Secret{c.PrivateKey, c.ClientSecret} {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
