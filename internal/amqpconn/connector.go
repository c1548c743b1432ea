// Package amqpconn is the amqp connection type: RabbitMQ (AMQP 0-9-1) as a
// destination, with publisher confirms.
package amqpconn

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/internal/tlsconf"
	"github.com/hoist-dev/hoist/sync/spec"
)

// Type is the connection type of AMQP 0-9-1 brokers (RabbitMQ).
const Type = "amqp"

// DefaultTimeout bounds the wait for one publisher confirm.
const DefaultTimeout = 30 * time.Second

func init() {
	connector.Register(connector.Spec{Type: Type, Summary: "RabbitMQ or another AMQP 0-9-1 broker (destination)",
		NewConfig: func() connector.Config { return &Config{} }})
}

// Config is an amqp connection's keys.
type Config struct {
	URL     spec.Secret   `yaml:"url" doc:"amqp://USER:PASSWORD@HOST:PORT/VHOST, or amqps:// for TLS (a secret: never printed)"`
	TLS     *tlsconf.TLS  `yaml:"tls" doc:"TLS options (below; amqps:// uses the system's roots without them)"`
	Timeout spec.Duration `yaml:"timeout" doc:"wait for a message's publisher confirm, a duration (default 30s)"`
}

// Validate implements connector.Config.
func (c *Config) Validate(p connector.Problems) {
	if c.URL == "" {
		p.Add("url", "url is required (amqp://USER:PASSWORD@HOST:PORT/VHOST)")
	} else if _, err := amqp.ParseURI(c.URL.Reveal()); err != nil {
		p.Add("url", "url must be amqp://USER:PASSWORD@HOST:PORT/VHOST or amqps://…")
	}
	if c.Timeout < 0 {
		p.Add("timeout", "timeout must be positive")
	}
	c.TLS.Validate("tls", p)
}

// Address implements connector.Config: host:port/vhost, no credentials.
func (c *Config) Address() string {
	u, err := amqp.ParseURI(c.URL.Reveal())
	if err != nil {
		return ""
	}
	return fmt.Sprintf("%s:%d/%s", u.Host, u.Port, strings.TrimPrefix(u.Vhost, "/"))
}

// AckTimeout is Timeout or its default.
func (c *Config) AckTimeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout.D()
	}
	return DefaultTimeout
}

// Dial opens the connection. Errors name the server, never the password.
func (c *Config) Dial(name string) (*amqp.Connection, error) {
	raw := c.URL.Reveal()
	cfg := amqp.Config{Properties: amqp.Table{"connection_name": "hoist " + name}, Dial: amqp.DefaultDial(10 * time.Second)}
	tc, err := c.TLS.Build()
	if err != nil {
		return nil, err
	}
	cfg.TLSClientConfig = tc
	conn, err := amqp.DialConfig(raw, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to amqp %s: %w", c.Address(), scrub(err, raw))
	}
	return conn, nil
}

func scrub(err error, raw string) error {
	u, perr := url.Parse(raw)
	if perr != nil || u.User == nil {
		return err
	}
	pw, ok := u.User.Password()
	if !ok || pw == "" || !strings.Contains(err.Error(), pw) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), pw, "****"))
}
