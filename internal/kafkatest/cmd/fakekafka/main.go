// Command fakekafka runs franz-go's in-process Kafka cluster (kfake) on
// local ports, so a hoist spec with a kafka destination can be tried
// without a broker:
//
//	go run ./internal/kafkatest/cmd/fakekafka -port 9092 -topic customers
//
// then point a kafka connection at brokers: [127.0.0.1:9092] and run
// hoist. Records stay in memory until it stops (Ctrl-C).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/hoist-dev/hoist/internal/kafkatest"
)

func main() {
	port := flag.Int("port", 9092, "first broker's port on 127.0.0.1 (the others follow it)")
	brokers := flag.Int("brokers", 1, "brokers in the cluster")
	topics := flag.String("topic", "", "comma-separated topics to create")
	partitions := flag.Int("partitions", 3, "partitions of each created topic")
	compact := flag.Bool("compact", false, "create the topics with cleanup.policy=compact")
	flag.Parse()
	ports := make([]int, *brokers)
	for i := range ports {
		ports[i] = *port + i
	}
	c, err := kafkatest.Start(kfake.NumBrokers(*brokers), kfake.Ports(ports...))
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakekafka:", err)
		os.Exit(1)
	}
	defer c.Close()
	for _, t := range strings.Split(*topics, ",") {
		if t == "" {
			continue
		}
		cfg := map[string]string{}
		if *compact {
			cfg["cleanup.policy"] = "compact"
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := c.CreateTopic(ctx, t, int32(*partitions), cfg)
		cancel()
		if err != nil {
			fmt.Fprintln(os.Stderr, "fakekafka:", err)
			os.Exit(1)
		}
	}
	fmt.Printf("fakekafka: brokers %s; topics %q; Ctrl-C stops it\n", strings.Join(c.Addrs, ","), *topics)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
}
