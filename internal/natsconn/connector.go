// Package natsconn is the nats connection type: NATS JetStream as a
// destination (config, validation and the client connection).
package natsconn

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/internal/tlsconf"
	"github.com/hoist-dev/hoist/sync/spec"
)

// Type is the connection type of NATS JetStream.
const Type = "nats"

// DefaultTimeout bounds the wait for one message's PubAck.
const DefaultTimeout = 30 * time.Second

// DefaultMaxPending is how many messages may await their PubAck at once.
const DefaultMaxPending = 8192

func init() {
	connector.Register(connector.Spec{Type: Type, Summary: "NATS JetStream (destination)",
		NewConfig: func() connector.Config { return &Config{} }})
}

// Config is a nats connection's keys.
type Config struct {
	URL       spec.Secret   `yaml:"url" doc:"nats://HOST:PORT (comma-separated for a cluster; tls:// for TLS); a secret, since it may carry user:password"`
	CredsFile string        `yaml:"creds_file" doc:"NATS credentials file (JWT and NKey seed), for decentralised auth"`
	User      string        `yaml:"user" doc:"user name, with password"`
	Password  spec.Secret   `yaml:"password" doc:"password of user (a secret)"`
	Token     spec.Secret   `yaml:"token" doc:"authentication token (a secret)"`
	TLS       *tlsconf.TLS  `yaml:"tls" doc:"TLS options (below)"`
	Timeout   spec.Duration `yaml:"timeout" doc:"wait for a message's PubAck, a duration (default 30s)"`
	// MaxPending caps the messages awaiting their PubAck, over every
	// loader of every sync on the connection.
	MaxPending int `yaml:"max_pending" doc:"messages in flight awaiting their PubAck (default 8192)"`
}

// Validate implements connector.Config.
func (c *Config) Validate(p connector.Problems) {
	if c.URL == "" {
		p.Add("url", "url is required (nats://HOST:PORT)")
	} else {
		for _, u := range strings.Split(c.URL.Reveal(), ",") {
			pu, err := url.Parse(strings.TrimSpace(u))
			if err != nil || pu.Host == "" || (pu.Scheme != "nats" && pu.Scheme != "tls") {
				p.Add("url", "url must be nats://HOST:PORT or tls://HOST:PORT, comma-separated for several servers")
				break
			}
		}
	}
	auth := 0
	for _, set := range []bool{c.CredsFile != "", c.User != "" || c.Password != "", c.Token != ""} {
		if set {
			auth++
		}
	}
	if auth > 1 {
		p.Add("", "set one of creds_file, user and password, or token")
	}
	if (c.User == "") != (c.Password == "") {
		p.Add("user", "user and password go together")
	}
	if c.MaxPending < 0 {
		p.Add("max_pending", "max_pending must be at least 1")
	}
	if c.Timeout < 0 {
		p.Add("timeout", "timeout must be positive")
	}
	c.TLS.Validate("tls", p)
}

// Address implements connector.Config: the servers' hosts, no credentials.
func (c *Config) Address() string {
	var hosts []string
	for _, u := range strings.Split(c.URL.Reveal(), ",") {
		if pu, err := url.Parse(strings.TrimSpace(u)); err == nil {
			hosts = append(hosts, pu.Host)
		}
	}
	return strings.Join(hosts, ",")
}

// AckTimeout is Timeout or its default.
func (c *Config) AckTimeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout.D()
	}
	return DefaultTimeout
}

// Conn is an open connection with its JetStream context.
type Conn struct {
	NC *nats.Conn
	JS jetstream.JetStream
}

// Connect opens the connection. Errors name the servers, never a
// credential.
func (c *Config) Connect(ctx context.Context, name string) (*Conn, error) {
	opts := []nats.Option{nats.Name("hoist " + name), nats.Timeout(10 * time.Second),
		// a broken connection fails the batches in flight instead of
		// buffering them for a reconnect that may not come
		nats.MaxReconnects(0)}
	switch {
	case c.CredsFile != "":
		opts = append(opts, nats.UserCredentials(c.CredsFile))
	case c.User != "":
		opts = append(opts, nats.UserInfo(c.User, c.Password.Reveal()))
	case c.Token != "":
		opts = append(opts, nats.Token(c.Token.Reveal()))
	}
	tc, err := c.TLS.Build()
	if err != nil {
		return nil, err
	}
	if tc != nil {
		opts = append(opts, nats.Secure(tc))
	}
	type result struct {
		nc  *nats.Conn
		err error
	}
	done := make(chan result, 1)
	go func() {
		nc, err := nats.Connect(c.URL.Reveal(), opts...)
		done <- result{nc, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		go func() {
			if r := <-done; r.nc != nil {
				r.nc.Close()
			}
		}()
		return nil, fmt.Errorf("connect to nats %s: %w", c.Address(), ctx.Err())
	}
	if r.err != nil {
		return nil, fmt.Errorf("connect to nats %s: %w", c.Address(), scrub(r.err, c))
	}
	maxPending := c.MaxPending
	if maxPending == 0 {
		maxPending = DefaultMaxPending
	}
	js, err := jetstream.New(r.nc, jetstream.WithPublishAsyncMaxPending(maxPending), jetstream.WithPublishAsyncTimeout(c.AckTimeout()))
	if err != nil {
		r.nc.Close()
		return nil, fmt.Errorf("nats %s: jetstream: %w", c.Address(), err)
	}
	if _, err := js.AccountInfo(ctx); err != nil {
		r.nc.Close()
		return nil, fmt.Errorf("nats %s: jetstream is not available: %w", c.Address(), err)
	}
	return &Conn{NC: r.nc, JS: js}, nil
}

// scrub keeps a credential a client error might quote out of the message.
func scrub(err error, c *Config) error {
	msg := err.Error()
	for _, s := range []string{c.Password.Reveal(), c.Token.Reveal(), c.URL.Reveal()} {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "****")
		}
	}
	if msg == err.Error() {
		return err
	}
	return errors.New(msg)
}
