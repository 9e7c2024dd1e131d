# Build stage: compile the release binary.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
RUN apt-get update && apt-get install -y --no-install-recommends build-essential pkg-config \
    && rm -rf /var/lib/apt/lists/*
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY migrations ./migrations
RUN cargo build --release --locked && strip target/release/billing-center

# Runtime stage: a slim image with the binary only, running as an unprivileged user.
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home billing
COPY --from=build /src/target/release/billing-center /usr/local/bin/billing-center
USER 10001
# Listening on every interface, `serve` refuses the public development JWT secret: set
# JWT_PUBLIC_KEY_FILE or JWT_JWKS_FILE (or JWT_HS256_SECRET), or ALLOW_DEV_SECRET=true for a
# local stack whose port is published on the host's loopback only (docker-compose.yml).
ENV BIND_ADDR=0.0.0.0:8080 LOG_FORMAT=json
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=2s CMD ["/usr/local/bin/billing-center", "--version"]
ENTRYPOINT ["/usr/local/bin/billing-center"]
CMD ["serve"]
