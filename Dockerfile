# syntax=docker/dockerfile:1
# The journeys binary: one image for ingest, process, migrate and simulate.

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/journeys ./cmd/journeys

# debian-slim rather than distroless so that compose healthchecks can curl
# the HTTP endpoints.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin journeys
COPY --from=build /out/journeys /usr/local/bin/journeys
USER 10001
# 8080 tracking API; 9464 ingest metrics; 9465 process metrics.
EXPOSE 8080 9464 9465
ENTRYPOINT ["journeys"]
CMD ["help"]
