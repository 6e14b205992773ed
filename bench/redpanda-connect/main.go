// Command redpanda-connect is the slim Redpanda Connect that `journeys
// bench` runs as the peer of `journeys ingest`: the Benthos runtime with
// the runtime's own io (http_server) and pure (mapping, unarchive)
// components, and only the kafka and sql component packages of
// github.com/redpanda-data/connect/v4, which build from the Go module
// proxy where the full cmd/redpanda-connect does not resolve. It is a
// module of its own, outside `go test ./...` and `make test`.
package main

import (
	"context"

	"github.com/redpanda-data/benthos/v4/public/service"

	_ "github.com/redpanda-data/benthos/v4/public/components/io"
	_ "github.com/redpanda-data/benthos/v4/public/components/pure"

	_ "github.com/redpanda-data/connect/v4/public/components/kafka"
	_ "github.com/redpanda-data/connect/v4/public/components/sql"
)

func main() { service.RunCLI(context.Background()) }
