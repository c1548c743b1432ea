// Package mqttconn is the mqtt connection type: an MQTT broker (3.1.1 or
// 5) as a destination, with QoS 1 publishes acknowledged by PUBACK.
package mqttconn

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/internal/tlsconf"
	"github.com/hoist-dev/hoist/sync/spec"
)

// Type is the connection type of MQTT.
const Type = "mqtt"

// Protocol versions.
const (
	V5   = "5"
	V311 = "3.1.1"
)

// DefaultTimeout bounds the wait for one PUBACK.
const DefaultTimeout = 30 * time.Second

func init() {
	connector.Register(connector.Spec{Type: Type, Summary: "an MQTT 3.1.1 or 5 broker (destination)",
		NewConfig: func() connector.Config { return &Config{} }})
}

// Config is an mqtt connection's keys.
type Config struct {
	URL             string        `yaml:"url" doc:"tcp://HOST:PORT, or ssl://HOST:PORT for TLS (default port 1883, 8883 with TLS)"`
	ProtocolVersion string        `yaml:"protocol_version" doc:"5 (default; user properties carry sync, op, run_id, key and id; a refused PUBACK rejects its row) or 3.1.1"`
	ClientID        string        `yaml:"client_id" doc:"client identifier (default hoist- and a random suffix: two runs never take over each other's session)"`
	User            string        `yaml:"user" doc:"user name"`
	Password        spec.Secret   `yaml:"password" doc:"password (a secret)"`
	TLS             *tlsconf.TLS  `yaml:"tls" doc:"TLS options (below)"`
	Timeout         spec.Duration `yaml:"timeout" doc:"wait for a message's PUBACK, and for the connection, a duration (default 30s)"`
	// MaxInflight caps the QoS 1 publishes awaiting their PUBACK per batch.
	MaxInflight int `yaml:"max_inflight" doc:"QoS 1 messages awaiting their PUBACK at once, per loader (default 256; MQTT 5 also keeps to the broker's receive maximum)"`
}

// Validate implements connector.Config.
func (c *Config) Validate(p connector.Problems) {
	if c.URL == "" {
		p.Add("url", "url is required (tcp://HOST:PORT)")
	} else if u, err := url.Parse(c.URL); err != nil || u.Host == "" || !validScheme(u.Scheme) {
		p.Add("url", "url must be tcp://HOST:PORT or ssl://HOST:PORT")
	}
	if c.ProtocolVersion != "" && c.ProtocolVersion != V5 && c.ProtocolVersion != V311 {
		p.Add("protocol_version", "unknown protocol_version %q (want 5 or 3.1.1)", c.ProtocolVersion)
	}
	if c.Password != "" && c.User == "" {
		p.Add("password", "password needs user")
	}
	if c.MaxInflight < 0 || c.MaxInflight > 65535 {
		p.Add("max_inflight", "max_inflight must be between 1 and 65535")
	}
	if c.Timeout < 0 {
		p.Add("timeout", "timeout must be positive")
	}
	c.TLS.Validate("tls", p)
}

func validScheme(s string) bool {
	switch s {
	case "tcp", "mqtt", "ssl", "tls", "mqtts":
		return true
	}
	return false
}

// Address implements connector.Config: host:port.
func (c *Config) Address() string {
	u, err := url.Parse(c.URL)
	if err != nil {
		return ""
	}
	return c.hostPort(u)
}

func (c *Config) secure(u *url.URL) bool {
	return c.TLS.On() || u.Scheme == "ssl" || u.Scheme == "tls" || u.Scheme == "mqtts"
}

func (c *Config) hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	if c.secure(u) {
		return net.JoinHostPort(u.Hostname(), "8883")
	}
	return net.JoinHostPort(u.Hostname(), "1883")
}

// Version is ProtocolVersion or its default.
func (c *Config) Version() string {
	if c.ProtocolVersion == "" {
		return V5
	}
	return c.ProtocolVersion
}

// AckTimeout is Timeout or its default.
func (c *Config) AckTimeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout.D()
	}
	return DefaultTimeout
}

// Inflight is MaxInflight or its default.
func (c *Config) Inflight() int {
	if c.MaxInflight > 0 {
		return c.MaxInflight
	}
	return 256
}

// Message is one QoS 1 publish.
type Message struct {
	Topic   string
	Payload []byte
	Retain  bool
	// Props are MQTT 5 user properties; 3.1.1 has none and drops them.
	Props [][2]string
}

// Client publishes QoS 1 messages.
type Client interface {
	// Publish sends m and waits for its PUBACK. refused is the broker's
	// failure reason code for m alone (MQTT 5); err means the connection
	// failed and the message's fate is unknown.
	Publish(ctx context.Context, m Message) (refused, err error)
	// V5 reports whether user properties reach the broker.
	V5() bool
	Close() error
}

// Connect opens a client of the configured protocol version.
func (c *Config) Connect(ctx context.Context, name string) (Client, error) {
	u, err := url.Parse(c.URL)
	if err != nil {
		return nil, fmt.Errorf("mqtt %s: url: %w", name, err)
	}
	var tc *tls.Config
	if c.secure(u) {
		if tc, err = c.TLS.Build(); err != nil {
			return nil, err
		}
		if tc == nil {
			tc = &tls.Config{MinVersion: tls.VersionTLS12}
		}
	}
	id := c.ClientID
	if id == "" {
		var rnd [6]byte
		rand.Read(rnd[:])
		id = "hoist-" + hex.EncodeToString(rnd[:])
	}
	ctx, cancel := context.WithTimeout(ctx, c.AckTimeout())
	defer cancel()
	var cl Client
	if c.Version() == V311 {
		cl, err = connect311(ctx, c, u, tc, id)
	} else {
		cl, err = connect5(ctx, c, c.hostPort(u), tc, id)
	}
	if err != nil {
		return nil, fmt.Errorf("connect to mqtt %s: %w", c.Address(), scrub(err, c))
	}
	return cl, nil
}

func scrub(err error, c *Config) error {
	if p := c.Password.Reveal(); p != "" && strings.Contains(err.Error(), p) {
		return errors.New(strings.ReplaceAll(err.Error(), p, "****"))
	}
	return err
}
