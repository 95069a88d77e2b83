# Build: a release binary with SQLite, libpq and OpenSSL built in from
# source (the image already has the C compiler, make and perl they need).
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY migrations ./migrations
# a member of the workspace (the bench's ceiling): its manifest must be
# there for cargo to read the workspace; only the product is built
COPY bench/ceiling ./bench/ceiling
RUN cargo build --release --locked

# Run: a slim image with only the binary, and the CA certificates for
# `sslmode=verify-full&sslrootcert=/etc/ssl/certs/ca-certificates.crt` and
# for an S3 store over HTTPS (AFTERCARE_STORAGE_URL=s3://…).
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin aftercare \
 && mkdir -p /data && chown aftercare:aftercare /data
COPY --from=build /src/target/release/aftercare /usr/local/bin/aftercare
USER aftercare
# SQLite by default, in the volume; set DATABASE_URL=postgres://… (and
# AFTERCARE_JWT_SECRET) to use PostgreSQL instead.
ENV DATABASE_URL=/data/aftercare.db \
    AFTERCARE_BIND=0.0.0.0:8080 \
    RUST_LOG=info
VOLUME ["/data"]
EXPOSE 8080
# `aftercare healthcheck` GETs /healthz: no curl needed in the image
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["aftercare", "healthcheck"]
ENTRYPOINT ["aftercare"]
CMD ["serve"]
