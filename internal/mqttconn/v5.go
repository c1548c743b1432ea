package mqttconn

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"

	"github.com/eclipse/paho.golang/paho"
)

// client5 is an MQTT 5 client (paho.golang). Publishes from many
// goroutines share its connection; the session keeps to the broker's
// receive maximum.
type client5 struct {
	c *paho.Client
}

func connect5(ctx context.Context, cfg *Config, addr string, tc *tls.Config, id string) (Client, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if tc != nil {
		tconn := tls.Client(conn, tc)
		if err := tconn.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, err
		}
		conn = tconn
	}
	c := paho.NewClient(paho.ClientConfig{Conn: conn, PacketTimeout: cfg.AckTimeout()})
	cp := &paho.Connect{ClientID: id, CleanStart: true, KeepAlive: 30}
	if cfg.User != "" {
		cp.Username, cp.UsernameFlag = cfg.User, true
		if cfg.Password != "" {
			cp.Password, cp.PasswordFlag = []byte(cfg.Password.Reveal()), true
		}
	}
	ack, err := c.Connect(ctx, cp)
	if err != nil {
		conn.Close()
		if ack != nil && ack.ReasonCode != 0 {
			return nil, fmt.Errorf("refused: %s (reason code %#x)", ack.Properties.ReasonString, ack.ReasonCode)
		}
		return nil, err
	}
	return &client5{c: c}, nil
}

func (c *client5) V5() bool { return true }

func (c *client5) Publish(ctx context.Context, m Message) (error, error) {
	p := &paho.Publish{QoS: 1, Topic: m.Topic, Payload: m.Payload, Retain: m.Retain}
	if len(m.Props) > 0 {
		p.Properties = &paho.PublishProperties{}
		for _, kv := range m.Props {
			p.Properties.User.Add(kv[0], kv[1])
		}
	}
	resp, err := c.c.Publish(ctx, p)
	if err == nil {
		return nil, nil
	}
	if resp != nil && resp.ReasonCode >= 0x80 {
		// PUBACK with a failure reason: the broker refused this message
		return fmt.Errorf("PUBACK reason code %#x: %w", resp.ReasonCode, err), nil
	}
	if errors.Is(err, paho.ErrInvalidArguments) {
		return err, nil
	}
	return nil, err
}

func (c *client5) Close() error {
	return c.c.Disconnect(&paho.Disconnect{ReasonCode: 0})
}
