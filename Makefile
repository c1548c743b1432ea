# hoist — build, test, benchmark, release.
# Every Go command builds with -tags minicore_disabled: gosnowflake then does
# not extract and dlopen its native helper at start-up, and static
# CGO_ENABLED=0 builds work.
GO        ?= go
TAGS      := minicore_disabled
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo none)
DATE      ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS   := -s -w -X github.com/hoist-dev/hoist/cmd/cli.Version=$(VERSION) \
             -X github.com/hoist-dev/hoist/cmd/cli.Commit=$(COMMIT) \
             -X github.com/hoist-dev/hoist/cmd/cli.Date=$(DATE)
export SF_DISABLE_MINICORE := true
export SNOWFLAKE_DISABLE_PLATFORM_DETECTION := true

.PHONY: all build test test-short vet quickstart quickstart-data bench bench-diff bench-postgres bench-mysql bench-http bench-snowflake bench-streams release-snapshot clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -tags $(TAGS) -trimpath -ldflags '$(LDFLAGS)' -o bin/hoist ./cmd/hoist

## test: vet, then every test with the race detector (PostgreSQL at HOIST_TEST_POSTGRES_URL).
test: vet
	$(GO) test -race -tags $(TAGS) -count=1 -timeout 20m ./...

test-short:
	$(GO) test -short -tags $(TAGS) -count=1 ./...

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet -tags $(TAGS) ./...

## quickstart: sync the embedded 100k-customer Parquet export into SQLite.
quickstart:
	$(GO) run -tags $(TAGS) ./cmd/hoist run testdata/quickstart/hoist.yaml

quickstart-data:
	$(GO) run ./testdata/quickstart/gen -out testdata/quickstart/customers.parquet

## bench: 1M rows Parquet → SQLite and Parquet → Parquet, rows/s and peak memory at 100k and 1M.
bench: build
	bash bench/pipeline/run.sh

bench-diff:
	$(GO) run -tags $(TAGS) ./bench/diff

bench-postgres: build
	bash bench/postgres/run.sh

## bench-mysql: MariaDB → MariaDB replace and upsert against the native pipe (mariadb | LOAD DATA), at 200k and 2M rows.
bench-mysql: build
	HOIST_BIN=bin/hoist bash bench/mysql/run.sh

bench-http:
	$(GO) run -tags $(TAGS) ./bench/http

bench-snowflake:
	$(GO) run -tags $(TAGS) ./bench/snowflake

## bench-streams: 1,000,000 changes published by hoist to NATS JetStream, Kafka (kfake), MQTT and RabbitMQ against a bare client loop, peak RSS at 100k and 1M.
bench-streams: build
	$(GO) run -tags $(TAGS) ./bench/streams -hoist bin/hoist

## release-snapshot: check .goreleaser.yaml locally (goreleaser v2.14.3 from the Go module proxy: newer ones need Go 1.27 or modules the proxy refuses).
release-snapshot:
	$(GO) run github.com/goreleaser/goreleaser/v2@v2.14.3 release --snapshot --clean

clean:
	rm -rf bin dist
