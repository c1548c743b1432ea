// Package tlsconf is the tls block the broker connections share.
package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"

	"github.com/hoist-dev/hoist/connector"
)

// TLS is a connection's tls keys. Setting any of them turns TLS on.
type TLS struct {
	Enabled            bool   `yaml:"enabled" doc:"use TLS with the system's roots (implied by any other tls key)"`
	CAFile             string `yaml:"ca_file" doc:"PEM file of the CA certificates to trust instead of the system's"`
	CertFile           string `yaml:"cert_file" doc:"PEM client certificate (with key_file) for mutual TLS"`
	KeyFile            string `yaml:"key_file" doc:"PEM private key of cert_file"`
	ServerName         string `yaml:"server_name" doc:"name to verify the server's certificate against (default: the host)"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify" doc:"do not verify the server's certificate (testing only)"`
}

// On reports whether the block asks for TLS.
func (c *TLS) On() bool {
	return c != nil && (c.Enabled || c.CAFile != "" || c.CertFile != "" || c.KeyFile != "" || c.ServerName != "" || c.InsecureSkipVerify)
}

// Validate reports problems under field ("tls").
func (c *TLS) Validate(field string, p connector.Problems) {
	if c == nil {
		return
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		p.Add(field, "cert_file and key_file go together")
	}
}

// Build returns the tls.Config, or nil when the block asks for no TLS.
func (c *TLS) Build() (*tls.Config, error) {
	if !c.On() {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.ServerName, InsecureSkipVerify: c.InsecureSkipVerify} //nolint:gosec // asked for by name
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.ca_file %s: no PEM certificate in it", c.CAFile)
		}
		tc.RootCAs = pool
	}
	if c.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls.cert_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}
