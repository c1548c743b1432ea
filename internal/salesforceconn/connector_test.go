package salesforceconn

import (
	"net/http"
	"strings"
	"testing"
)

type problems []string

func (p *problems) Add(field, format string, args ...any) { *p = append(*p, field) }

// TestValidate: each flow's required keys, and errors that never quote the key.
func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string // fields reported, joined
	}{
		{"jwt without key", Config{ClientID: "x", Username: "u"}, "private_key"},
		{"jwt without user", Config{ClientID: "x", PrivateKey: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"}, "username,private_key"},
		{"client credentials", Config{ClientID: "x", ClientSecret: "s", InstanceURL: "https://acme.my.salesforce.com"}, ""},
		{"client credentials without instance", Config{ClientID: "x", ClientSecret: "s"}, "instance_url"},
		{"no client id", Config{Auth: "client_credentials", ClientSecret: "s", InstanceURL: "https://a"}, "client_id"},
		{"bad version", Config{ClientID: "x", ClientSecret: "s", InstanceURL: "https://a", APIVersion: "62"}, "api_version"},
		{"bad auth", Config{ClientID: "x", Auth: "password"}, "auth"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p problems
			tc.cfg.Validate(&p)
			if got := strings.Join(p, ","); got != tc.want {
				t.Errorf("problems %q, want %q", got, tc.want)
			}
		})
	}
	_, err := ParsePrivateKey([]byte("-----BEGIN PRIVATE KEY-----\nc2VjcmV0IGtleSBieXRlcw==\n-----END PRIVATE KEY-----"))
	if err == nil || strings.Contains(err.Error(), "c2VjcmV0") {
		t.Errorf("a broken key: %v", err)
	}
}

func TestLimitInfo(t *testing.T) {
	for _, tc := range []struct {
		header      string
		left, limit int64
		ok          bool
	}{
		{"api-usage=18/15000", 14982, 15000, true},
		{"api-usage=18/15000, per-app-api-usage=17/250(appName=sample-app)", 14982, 15000, true},
		{"per-app-api-usage=17/250(appName=x)", 0, 0, false},
		{"api-usage=x/15000", 0, 0, false},
		{"", 0, 0, false},
	} {
		h := http.Header{}
		h.Set(LimitInfoHeader, tc.header)
		left, limit, ok := LimitInfo(h)
		if left != tc.left || limit != tc.limit || ok != tc.ok {
			t.Errorf("%q: %d/%d %v, want %d/%d %v", tc.header, left, limit, ok, tc.left, tc.limit, tc.ok)
		}
	}
}

func FuzzLimitInfo(f *testing.F) {
	f.Add("api-usage=18/15000")
	f.Add("api-usage=/,x")
	f.Fuzz(func(t *testing.T, v string) {
		h := http.Header{}
		h.Set(LimitInfoHeader, v)
		left, limit, ok := LimitInfo(h)
		if ok && left > limit {
			t.Fatalf("%q: %d left of %d", v, left, limit)
		}
	})
}

func FuzzParsePrivateKey(f *testing.F) {
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := ParsePrivateKey(b); err != nil && len(b) > 40 && strings.Contains(err.Error(), string(b[20:40])) {
			t.Fatalf("the error quotes the input: %v", err)
		}
	})
}
