package mqttconn

import (
	"context"
	"crypto/tls"
	"errors"
	"net/url"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// client311 is an MQTT 3.1.1 client (paho.mqtt.golang): its publishes are
// asynchronous tokens, completed by the PUBACK. 3.1.1 has no failure
// reason in a PUBACK, so a broker that refuses a message disconnects.
type client311 struct {
	c       mqtt.Client
	timeout time.Duration
}

func connect311(ctx context.Context, cfg *Config, u *url.URL, tc *tls.Config, id string) (Client, error) {
	scheme := "tcp"
	if tc != nil {
		scheme = "ssl"
	}
	o := mqtt.NewClientOptions().AddBroker(scheme + "://" + cfg.hostPort(u)).SetClientID(id).
		SetProtocolVersion(4).SetCleanSession(true).SetAutoReconnect(false).SetConnectRetry(false).
		SetConnectTimeout(cfg.AckTimeout()).SetWriteTimeout(cfg.AckTimeout()).SetOrderMatters(false).
		SetMaxResumePubInFlight(cfg.Inflight())
	if tc != nil {
		o.SetTLSConfig(tc)
	}
	if cfg.User != "" {
		o.SetUsername(cfg.User).SetPassword(cfg.Password.Reveal())
	}
	c := mqtt.NewClient(o)
	tok := c.Connect()
	if err := wait(ctx, tok); err != nil {
		return nil, err
	}
	return &client311{c: c, timeout: cfg.AckTimeout()}, nil
}

func wait(ctx context.Context, tok mqtt.Token) error {
	select {
	case <-tok.Done():
		return tok.Error()
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *client311) V5() bool { return false }

func (c *client311) Publish(ctx context.Context, m Message) (error, error) {
	if !c.c.IsConnectionOpen() {
		return nil, errors.New("connection lost")
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if err := wait(ctx, c.c.Publish(m.Topic, 1, m.Retain, m.Payload)); err != nil {
		return nil, err
	}
	return nil, nil
}

func (c *client311) Close() error {
	c.c.Disconnect(250)
	return nil
}
