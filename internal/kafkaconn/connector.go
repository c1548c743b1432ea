// Package kafkaconn is the kafka connection type: Apache Kafka (and
// Kafka-compatible brokers) as a destination, through franz-go.
package kafkaconn

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/hoist-dev/hoist/connector"
	"github.com/hoist-dev/hoist/internal/tlsconf"
	"github.com/hoist-dev/hoist/sync/spec"
)

// Type is the connection type of Kafka.
const Type = "kafka"

// DefaultTimeout bounds a record's delivery, retries included.
const DefaultTimeout = 30 * time.Second

// DefaultMaxMessageBytes is Kafka's own default max.message.bytes: a
// record larger than this is refused by the client, alone.
const DefaultMaxMessageBytes = 1_000_012

func init() {
	connector.Register(connector.Spec{Type: Type, Summary: "Apache Kafka (destination)",
		NewConfig: func() connector.Config { return &Config{} }})
}

// SASL mechanisms.
var mechanisms = []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}

// Compression codecs.
var codecs = map[string]kgo.CompressionCodec{
	"none": kgo.NoCompression(), "gzip": kgo.GzipCompression(), "snappy": kgo.SnappyCompression(),
	"lz4": kgo.Lz4Compression(), "zstd": kgo.ZstdCompression(),
}

// Config is a kafka connection's keys.
type Config struct {
	Brokers  []string      `yaml:"brokers" doc:"list of seed brokers, HOST:PORT"`
	SASL     *SASL         `yaml:"sasl" doc:"SASL authentication (below)"`
	TLS      *tlsconf.TLS  `yaml:"tls" doc:"TLS options (below)"`
	ClientID string        `yaml:"client_id" doc:"client id the brokers see (default hoist)"`
	Timeout  spec.Duration `yaml:"timeout" doc:"delivery timeout of one record, retries included, a duration (default 30s)"`
	Linger   spec.Duration `yaml:"linger" doc:"how long a partition's batch waits for more records, a duration (default 0: as soon as possible)"`
	// MaxMessageBytes is the client's cap of one record batch: a record
	// larger than it is refused alone, before it reaches a broker.
	MaxMessageBytes int    `yaml:"max_message_bytes" doc:"largest record batch sent, as the topics' max.message.bytes (default 1000012); a larger record is rejected"`
	Compression     string `yaml:"compression" doc:"none, gzip, snappy, lz4 or zstd (default snappy)"`
}

// SASL is a kafka connection's SASL block.
type SASL struct {
	Mechanism string      `yaml:"mechanism" doc:"PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"`
	User      string      `yaml:"user" doc:"user name"`
	Password  spec.Secret `yaml:"password" doc:"password (a secret)"`
}

// Validate implements connector.Config.
func (c *Config) Validate(p connector.Problems) {
	if len(c.Brokers) == 0 {
		p.Add("brokers", "brokers is required (a list of HOST:PORT)")
	}
	for i, b := range c.Brokers {
		if _, _, err := net.SplitHostPort(b); err != nil {
			p.Add(fmt.Sprintf("brokers[%d]", i), "%q is not HOST:PORT", b)
		}
	}
	if s := c.SASL; s != nil {
		if !slices.Contains(mechanisms, strings.ToUpper(s.Mechanism)) {
			p.Add("sasl.mechanism", "unknown mechanism %q (want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)", s.Mechanism)
		}
		if s.User == "" || s.Password == "" {
			p.Add("sasl", "sasl needs user and password")
		}
	}
	if c.MaxMessageBytes != 0 && (c.MaxMessageBytes < 512 || c.MaxMessageBytes > 1<<30) {
		p.Add("max_message_bytes", "max_message_bytes must be between 512 and 1073741824")
	}
	if _, ok := codecs[c.Compression]; c.Compression != "" && !ok {
		p.Add("compression", "unknown compression %q (want none, gzip, snappy, lz4 or zstd)", c.Compression)
	}
	if c.Timeout < 0 || c.Linger < 0 {
		p.Add("timeout", "durations must be positive")
	}
	c.TLS.Validate("tls", p)
}

// Address implements connector.Config: the seed brokers.
func (c *Config) Address() string { return strings.Join(c.Brokers, ",") }

// MaxBytes is MaxMessageBytes or its default.
func (c *Config) MaxBytes() int {
	if c.MaxMessageBytes > 0 {
		return c.MaxMessageBytes
	}
	return DefaultMaxMessageBytes
}

// Client opens a producer: idempotent (the brokers drop a batch the client
// retried after a lost answer), acks from every in-sync replica, records
// of one key on one partition in order.
func (c *Config) Client(name string) (*kgo.Client, error) {
	timeout := DefaultTimeout
	if c.Timeout > 0 {
		timeout = c.Timeout.D()
	}
	id := c.ClientID
	if id == "" {
		id = "hoist"
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(c.Brokers...),
		kgo.ClientID(id),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordDeliveryTimeout(timeout),
		kgo.ProduceRequestTimeout(timeout),
		kgo.ProducerBatchMaxBytes(int32(c.MaxBytes())),
		kgo.ProducerLinger(c.Linger.D()),
		kgo.DialTimeout(10 * time.Second),
	}
	if codec, ok := codecs[c.Compression]; ok {
		opts = append(opts, kgo.ProducerBatchCompression(codec))
	}
	if s := c.SASL; s != nil {
		user, pass := s.User, s.Password.Reveal()
		switch strings.ToUpper(s.Mechanism) {
		case "PLAIN":
			opts = append(opts, kgo.SASL(plain.Auth{User: user, Pass: pass}.AsMechanism()))
		case "SCRAM-SHA-256":
			opts = append(opts, kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha256Mechanism()))
		case "SCRAM-SHA-512":
			opts = append(opts, kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha512Mechanism()))
		}
	}
	tc, err := c.TLS.Build()
	if err != nil {
		return nil, err
	}
	if tc != nil {
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka %s (%s): %w", name, c.Address(), err)
	}
	return cl, nil
}

// Ping checks that a broker answers.
func Ping(ctx context.Context, cl *kgo.Client, c *Config) error {
	if err := cl.Ping(ctx); err != nil {
		return fmt.Errorf("kafka %s: no broker answers: %w", c.Address(), err)
	}
	return nil
}
