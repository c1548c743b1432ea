package salesforceconn

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	stdsync "sync"
	"time"

	"github.com/hoist-dev/hoist/internal/httpkit"
	"github.com/hoist-dev/hoist/sync/spec"
)

// OAuth 2.0 as Salesforce documents it for server-to-server integrations:
//
//   - JWT bearer flow: hoist signs a JWT (RS256; iss the connected app's
//     consumer key, sub the username, aud the login server, exp within
//     three minutes) with the private key of the certificate uploaded to
//     the app, and posts it as grant_type
//     urn:ietf:params:oauth:grant-type:jwt-bearer to /services/oauth2/token;
//   - client credentials flow: client_id and client_secret posted with
//     grant_type client_credentials to the org's My Domain token endpoint.
//
// Either answers an access token and the org's instance_url, the root every
// REST and Bulk request goes to. Neither flow gives a refresh token: when a
// session expires (a 401 INVALID_SESSION_ID), the flow is simply run again.
// One token serves every sync on the connection in a process.

// ParsePrivateKey reads an RSA private key in PEM (PKCS #1 "RSA PRIVATE
// KEY" or PKCS #8 "PRIVATE KEY"). Its errors never quote the key.
func ParsePrivateKey(data []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(strings.TrimSpace(string(data))))
	if block == nil {
		return nil, errors.New("not a PEM private key (want -----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)")
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, errors.New("the RSA PRIVATE KEY block does not parse as PKCS #1")
		}
		return k, nil
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, errors.New("the PRIVATE KEY block does not parse as PKCS #8")
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, errors.New("the key is not an RSA key: Salesforce's JWT bearer flow signs with RS256")
		}
		return rk, nil
	case "ENCRYPTED PRIVATE KEY":
		return nil, errors.New("the key is encrypted: give hoist the decrypted key (openssl pkcs8 -in key.pem -out plain.pem)")
	}
	return nil, fmt.Errorf("a PEM %q block is not a private key", block.Type)
}

// Assertion is the signed JWT of the bearer flow.
func Assertion(key *rsa.PrivateKey, clientID, username, audience string, now time.Time) (string, error) {
	enc := base64.RawURLEncoding
	head := enc.EncodeToString([]byte(`{"alg":"RS256"}`))
	claims, err := json.Marshal(map[string]any{"iss": clientID, "sub": username, "aud": audience, "exp": now.Add(3 * time.Minute).Unix()})
	if err != nil {
		return "", err
	}
	signing := head + "." + enc.EncodeToString(claims)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("sign the JWT: %w", err)
	}
	return signing + "." + enc.EncodeToString(sig), nil
}

// Token is one session: the access token (a secret) and the org's root.
type Token struct {
	Access      spec.Secret
	InstanceURL string
	gen         int
}

// TokenSource runs the connection's OAuth flow once and again whenever a
// session expires, for every request of every sync on the connection.
type TokenSource struct {
	cfg    *Config
	dir    string
	client *httpkit.Client
	now    func() time.Time

	mu   stdsync.Mutex
	tok  *Token
	gen  int
	runs int // flows run (tests)
}

var sources = struct {
	stdsync.Mutex
	m map[string]*TokenSource
}{m: map[string]*TokenSource{}}

// Source returns the process's token source for connection name, made the
// first time; a changed configuration (a reloaded spec) gets a new one.
func Source(name string, cfg *Config, dir string) (*TokenSource, error) {
	key := strings.Join([]string{name, cfg.AuthFlow(), cfg.Login(), cfg.InstanceURL, cfg.ClientID, cfg.Username,
		fingerprint(cfg.PrivateKey), cfg.PrivateKeyFile, fingerprint(cfg.ClientSecret)}, "\x00")
	sources.Lock()
	defer sources.Unlock()
	if s, ok := sources.m[key]; ok {
		return s, nil
	}
	tokenRoot := cfg.Login()
	if cfg.AuthFlow() == AuthClientCredentials {
		tokenRoot = strings.TrimSuffix(cfg.InstanceURL, "/")
	}
	hc := &httpkit.Config{BaseURL: tokenRoot, Timeout: cfg.Timeout, MaxRetries: cfg.MaxRetries}
	c, err := httpkit.NewClient(name+" oauth", hc)
	if err != nil {
		return nil, err
	}
	s := &TokenSource{cfg: cfg, dir: dir, client: c, now: time.Now}
	sources.m[key] = s
	return s, nil
}

// fingerprint tells secrets apart in a map key without keeping them there.
func fingerprint(s spec.Secret) string {
	if s == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(s.Reveal()))
	return base64.RawStdEncoding.EncodeToString(sum[:8])
}

// Token returns the current session, running the flow when there is none.
func (s *TokenSource) Token(ctx context.Context) (*Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok != nil {
		return s.tok, nil
	}
	return s.fetch(ctx)
}

// Refresh replaces stale, the session a request was refused with; a
// session another request has already replaced is returned as it is.
func (s *TokenSource) Refresh(ctx context.Context, stale *Token) (*Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok != nil && stale != nil && s.tok.gen != stale.gen {
		return s.tok, nil
	}
	s.tok = nil
	return s.fetch(ctx)
}

// Runs is how many times the flow ran (tests).
func (s *TokenSource) Runs() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.runs
}

// fetch runs the flow; s.mu held.
func (s *TokenSource) fetch(ctx context.Context) (*Token, error) {
	form := url.Values{}
	switch s.cfg.AuthFlow() {
	case AuthClientCredentials:
		form.Set("grant_type", "client_credentials")
		form.Set("client_id", s.cfg.ClientID)
		form.Set("client_secret", s.cfg.ClientSecret.Reveal())
	default:
		key, err := s.cfg.Key(s.dir)
		if err != nil {
			return nil, err
		}
		a, err := Assertion(key, s.cfg.ClientID, s.cfg.Username, s.cfg.Login(), s.now())
		if err != nil {
			return nil, err
		}
		form.Set("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer")
		form.Set("assertion", a)
	}
	u, err := s.client.Resolve("/services/oauth2/token")
	if err != nil {
		return nil, err
	}
	s.runs++
	resp, err := s.client.Do(ctx, httpkit.Request{Method: http.MethodPost, URL: u, Body: []byte(form.Encode()),
		Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}})
	if err != nil {
		return nil, fmt.Errorf("salesforce %s token: %w", s.cfg.AuthFlow(), err)
	}
	var ans struct {
		AccessToken string `json:"access_token"`
		InstanceURL string `json:"instance_url"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	_ = json.Unmarshal(resp.Body, &ans)
	if resp.Status != http.StatusOK || ans.AccessToken == "" {
		why := ans.Error
		if ans.Description != "" {
			why += ": " + ans.Description
		}
		if why == "" {
			why = http.StatusText(resp.Status)
		}
		return nil, fmt.Errorf("salesforce %s token from %s: %d %s%s", s.cfg.AuthFlow(), s.client.Base().Host, resp.Status, why, hint(s.cfg.AuthFlow(), ans.Error, ans.Description))
	}
	if !strings.HasPrefix(ans.InstanceURL, "http://") && !strings.HasPrefix(ans.InstanceURL, "https://") {
		return nil, fmt.Errorf("salesforce token answer: instance_url %q is not a URL", ans.InstanceURL)
	}
	s.gen++
	s.tok = &Token{Access: spec.Secret(ans.AccessToken), InstanceURL: strings.TrimSuffix(ans.InstanceURL, "/"), gen: s.gen}
	return s.tok, nil
}

// hint says what usually causes Salesforce's documented token errors of
// flow.
func hint(flow, code, desc string) string {
	switch {
	case flow == AuthClientCredentials && code == "invalid_client":
		return " (client_id must be the connected app's consumer key and client_secret its consumer secret; a change to the connected app takes up to 10 minutes to apply)"
	case flow == AuthClientCredentials && code == "invalid_grant":
		return " (enable the client credentials flow on the connected app and set its Run As user; instance_url must be the org's My Domain URL)"
	case code == "invalid_grant" && strings.Contains(desc, "approved"):
		return " (pre-authorize the user: the connected app's policies → Admin approved users are pre-authorized, and add the user's profile or permission set)"
	case code == "invalid_client_id" || code == "invalid_client":
		return " (client_id must be the connected app's consumer key; a new app takes up to 10 minutes to be usable)"
	case code == "invalid_grant" && strings.Contains(desc, "audience"):
		return " (login_url is the JWT's audience: https://login.salesforce.com, or https://test.salesforce.com for a sandbox)"
	case code == "invalid_grant":
		return " (check the certificate uploaded to the connected app matches private_key, and username)"
	}
	return ""
}
