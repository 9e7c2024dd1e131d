# The API as a container image: a release binary on a slim Debian, running unprivileged, with
# a HEALTHCHECK that asks the server's own /readyz. Build stages use cargo-chef so that the
# ~260 dependency crates are compiled in a layer of their own, cached until Cargo.toml or
# Cargo.lock change: an edit in src/ rebuilds our crate only. See docs/DECISIONS.md
# ("Container image") and the manual check in docs/CONTAINER.md.

# Toolchain, C compiler (aws-lc-sys builds C code) and cargo-chef, shared by the next stages.
FROM rust:1.95-slim-bookworm AS chef
# Unpinned Debian packages: bookworm's security updates replace a pinned version, and the
# pinned build would then fail (see .hadolint.yaml).
RUN apt-get update && apt-get install -y --no-install-recommends build-essential pkg-config \
    && rm -rf /var/lib/apt/lists/*
RUN cargo install cargo-chef --version 0.1.78 --locked
WORKDIR /src

# The recipe: manifests, lock file and the list of targets, without our code. Its output
# changes only when the dependencies do, which is what keys the cache of the next stage.
FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

# Dependencies first (cached layer), then our crate.
FROM chef AS build
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --locked --recipe-path recipe.json --bin billing-center
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY migrations ./migrations
COPY templates ./templates
RUN cargo build --release --locked --bin billing-center && strip target/release/billing-center

# Runtime: the binary only, as an unprivileged user.
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home billing
COPY --from=build /src/target/release/billing-center /usr/local/bin/billing-center
USER 10001
# Listening on every interface, `serve` refuses the public development JWT secret: configure
# JWT_HS256_SECRET (a private secret of at least 32 bytes), JWT_PUBLIC_KEY_FILE or
# JWT_JWKS_FILE. docker-compose.yml requires JWT_HS256_SECRET and will not start without it.
ENV BIND_ADDR=0.0.0.0:8080 LOG_FORMAT=json
EXPOSE 8080
# `healthcheck` GETs http://$BIND_ADDR/readyz (0.0.0.0 is probed on 127.0.0.1) and exits 0 on
# 200, 1 otherwise: the process serves and reaches PostgreSQL. The start period covers the
# migrations that `serve` runs first.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["/usr/local/bin/billing-center", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/billing-center"]
CMD ["serve"]
