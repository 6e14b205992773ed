# The two commands a newcomer runs on a fresh Debian machine (as root):
#   make demo   install what is missing, start journeys dev, simulate four weeks, print the friction report
#   make test   install what is missing, start a throwaway ClickHouse, run every test
#   make chaos  the fault-injection suite, long version (see README, Fault injection)

GO ?= go
BIN := bin/journeys
export PATH := /usr/local/go/bin:/usr/sbin:$(PATH)

.PHONY: demo test chaos deps build vet clean

build:
	$(GO) build -o $(BIN) ./cmd/journeys

deps:
	@bash scripts/deps.sh

demo: deps build
	@bash scripts/demo.sh

test: deps vet
	@bash scripts/test.sh

chaos: deps
	@bash scripts/test.sh chaos

vet:
	$(GO) vet ./...

clean:
	rm -rf bin var
