# hbpc-gateway: multi-stage build, slim non-root runtime.
FROM rust:1.95-slim-bookworm AS builder
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY crates ./crates
COPY src ./src
COPY profiles ./profiles
# embedded in the binary for the workbench (build.rs)
COPY fixtures ./fixtures
COPY benches ./benches
RUN cargo build --release --locked --bin hbpc-gateway

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin hbpc \
 && mkdir -p /data \
 && chown hbpc:hbpc /data
COPY --from=builder /src/target/release/hbpc-gateway /usr/local/bin/hbpc-gateway
# Authorization is on: a container listens beyond loopback. Register clients and a signing key
# in a mounted config (HBPC_CONFIG, docs/security.md); `serve --insecure` is for local trials only.
ENV HBPC_SERVER_LISTEN=0.0.0.0:8080 \
    HBPC_DATABASE_URL=sqlite:///data/hbpc.sqlite \
    HBPC_LOG_FORMAT=json \
    HBPC_AUTH_ENABLED=true
USER hbpc
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["curl", "-fsS", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["/usr/local/bin/hbpc-gateway"]
CMD ["serve"]
