package salesforcetest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// token is POST /services/oauth2/token: the JWT bearer and client
// credentials flows, as the OAuth 2.0 docs describe them (form-encoded
// request; error answers {"error", "error_description"} with 400).
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	s.count("oauth token")
	oauthErr := func(code, desc string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
	}
	if r.Method != http.MethodPost {
		oauthErr("invalid_request", "must use HTTP POST")
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		s.mu.Lock()
		s.invalid("token request Content-Type " + ct)
		s.mu.Unlock()
		oauthErr("invalid_request", "unsupported Content-Type")
		return
	}
	if err := r.ParseForm(); err != nil {
		oauthErr("invalid_request", "bad form")
		return
	}
	switch r.PostForm.Get("grant_type") {
	case "urn:ietf:params:oauth:grant-type:jwt-bearer":
		if code, desc := s.checkJWT(r.PostForm.Get("assertion")); code != "" {
			oauthErr(code, desc)
			return
		}
	case "client_credentials":
		if s.cfg.ClientSecret == "" {
			oauthErr("invalid_grant", "no client credentials user enabled")
			return
		}
		if r.PostForm.Get("client_id") != s.cfg.ClientID || r.PostForm.Get("client_secret") != s.cfg.ClientSecret {
			oauthErr("invalid_client", "invalid client credentials")
			return
		}
	default:
		oauthErr("unsupported_grant_type", "grant type not supported")
		return
	}
	b := make([]byte, 24)
	rand.Read(b)
	tok := "00D000000000001!AQ" + hex.EncodeToString(b)
	s.mu.Lock()
	var exp time.Time
	if s.cfg.TokenTTL > 0 {
		exp = time.Now().Add(s.cfg.TokenTTL)
	}
	s.tokens[tok] = exp
	s.stats.Tokens++
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{"access_token": tok, "scope": "api", "instance_url": s.instanceURL(r),
		"id": s.instanceURL(r) + "/id/00D000000000001/005000000000001", "token_type": "Bearer"})
}

func (s *Server) instanceURL(r *http.Request) string {
	if s.URL != "" {
		return s.URL
	}
	return "http://" + r.Host
}

// checkJWT verifies a bearer assertion: RS256 over header.claims with the
// certificate's key; iss the consumer key, sub the user, aud the login
// server (or this fake), exp in the future and at most a few minutes off.
func (s *Server) checkJWT(a string) (code, desc string) {
	parts := strings.Split(a, ".")
	if len(parts) != 3 {
		return "invalid_grant", "invalid assertion"
	}
	enc := base64.RawURLEncoding
	head, err1 := enc.DecodeString(parts[0])
	body, err2 := enc.DecodeString(parts[1])
	sig, err3 := enc.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return "invalid_grant", "invalid assertion"
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(head, &h) != nil || h.Alg != "RS256" {
		return "invalid_grant", "invalid assertion: alg must be RS256"
	}
	if s.cfg.PublicKey == nil {
		return "invalid_grant", "invalid assertion: no certificate uploaded"
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(s.cfg.PublicKey, crypto.SHA256, sum[:], sig) != nil {
		return "invalid_grant", "invalid assertion: signature does not verify"
	}
	var c struct {
		Iss string `json:"iss"`
		Sub string `json:"sub"`
		Aud string `json:"aud"`
		Exp int64  `json:"exp"`
	}
	if json.Unmarshal(body, &c) != nil {
		return "invalid_grant", "invalid assertion"
	}
	switch {
	case c.Iss != s.cfg.ClientID:
		return "invalid_client_id", "client identifier invalid"
	case c.Sub != s.cfg.Username:
		return "invalid_grant", "user hasn't approved this consumer"
	case c.Aud != "https://login.salesforce.com" && c.Aud != "https://test.salesforce.com" && (s.URL == "" || c.Aud != s.URL):
		return "invalid_grant", "audience is invalid"
	case c.Exp < time.Now().Unix():
		return "invalid_grant", "expired authorization code"
	case c.Exp > time.Now().Add(5*time.Minute).Unix():
		return "invalid_grant", "invalid assertion: exp too far in the future"
	}
	return "", ""
}

// apiError is the REST API's error entry.
type apiError struct {
	Message   string   `json:"message"`
	ErrorCode string   `json:"errorCode"`
	Fields    []string `json:"fields,omitempty"`
}

// fail answers an error as the REST API does: a JSON array of errors.
func (s *Server) fail(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, []apiError{{Message: msg, ErrorCode: code}})
}

// bad answers a malformed request and counts it.
func (s *Server) bad(w http.ResponseWriter, code, msg string) {
	s.mu.Lock()
	s.invalid(code + ": " + msg)
	s.mu.Unlock()
	s.fail(w, http.StatusBadRequest, code, msg)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
