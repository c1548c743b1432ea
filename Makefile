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

.PHONY: all build test test-short vet quickstart quickstart-data bench bench-diff bench-postgres bench-mysql bench-http bench-snowflake bench-parallel bench-streams bench-scale bench-hubspot bench-salesforce release-snapshot clean

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

## bench-scale: a 20,000,000-row PostgreSQL table (bench-postgres's shape), 1% changed, mirrored into PostgreSQL by 4 shards with the warehouse diff; wall time, rows moved, peak RSS per shard. Smaller: make bench-scale BENCH_SCALE_FLAGS="-rows 2000000 -compare".
bench-scale: build
	$(GO) run -tags $(TAGS) ./bench/scale -bin bin/hoist $(BENCH_SCALE_FLAGS)

## bench-salesforce: 650,000 opportunities × 240 fields into the fake Salesforce through Bulk API 2.0 jobs, then a 1% change to 3 fields;
## hoist's wall and CPU time, peak RSS, jobs and the fake's simulated processing. BENCH_SALESFORCE_FLAGS="-rows 65000" for a smaller run.
bench-salesforce: build
	$(GO) run -tags $(TAGS) ./bench/salesforce -bin bin/hoist $(BENCH_SALESFORCE_FLAGS)

## bench-parallel: 200 small syncs (SQLite → files, 1,000 rows each), --parallel 1 against --parallel 8; prints the spec and the ratio.
bench-parallel: build
	$(GO) run -tags $(TAGS) ./bench/parallel -bin bin/hoist $(BENCH_PARALLEL_FLAGS)

## bench-hubspot: 100,000 contacts (20 properties) from SQLite by bin/hoist into the fake HubSpot at the Professional
## limit (190 requests per 10 s): achieved/limit clean and under the fault mix, never above it; peak RSS at 10k and
## 100k; a daily_budget run that stops as partial and a next run that finishes exactly. Prints the spec.
bench-hubspot: build
	nice -n 19 $(GO) run -tags $(TAGS) ./bench/hubspot -hoist bin/hoist $(BENCH_HUBSPOT_FLAGS)

## release-snapshot: run .goreleaser.yaml locally (goreleaser v2.14.3 from the Go module proxy: newer ones need
## Go 1.27 or modules the proxy refuses): archives, checksums, SBOMs, the Homebrew cask, and the image when a docker
## daemon answers; then deploy/check-image.sh runs the image's binary on an otherwise empty filesystem.
GORELEASER ?= $(GO) run github.com/goreleaser/goreleaser/v2@v2.14.3
release-snapshot:
	@if docker info >/dev/null 2>&1; then skip=; else \
		echo "release-snapshot: no docker daemon answers here: the container image is not built (--skip=docker);"; \
		echo "release-snapshot: deploy/check-image.sh checks the binary it would hold instead"; skip=--skip=docker; fi; \
	$(GORELEASER) release --snapshot --clean $$skip
	bash deploy/check-image.sh dist

clean:
	rm -rf bin dist
