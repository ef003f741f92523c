# The redis-sentinel-fn KRM function image: the static binary as entrypoint,
# /etc/passwd and /etc/group (so that `docker run --user nobody`, as kpt and
# kustomize start functions, resolves), nothing else. Runs as 65532 (nonroot).
#
# Two ways to get the binary into the same runtime image (docs/gitops.md):
#
#   From source (default, what users build; needs BuildKit, the default
#   builder since Docker 23):
#       docker build -t ghcr.io/redis-sentinel-fn/redis-sentinel-fn:v0.1.0 .
#
#   Offline, from a static binary cargo built on the host (no base image is
#   pulled; works with BuildKit and with the legacy builder):
#       RUSTFLAGS="-C target-feature=+crt-static" \
#           cargo build --release --target x86_64-unknown-linux-gnu
#       install -D target/x86_64-unknown-linux-gnu/release/redis-sentinel-fn \
#           target/docker/redis-sentinel-fn
#       docker build --target prebuilt -t IMAGE .
#
# Stage order matters: the legacy builder builds every stage before the
# target, so `base` and `prebuilt` come before the stage that pulls the Rust
# image. BuildKit builds only the stages the target needs.

# ---- base: everything of the runtime image except the binary ----
FROM scratch AS base
COPY docker/rootfs/ /
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/redis-sentinel-fn"]
LABEL org.opencontainers.image.title="redis-sentinel-fn" \
      org.opencontainers.image.description="KRM function: Redis + Sentinel + TLS topology for Kubernetes from a small RedisSentinel spec" \
      org.opencontainers.image.licenses="Apache-2.0"

# ---- prebuilt: base + a static binary from the build context ----
FROM base AS prebuilt
ARG BINARY=target/docker/redis-sentinel-fn
COPY ${BINARY} /usr/local/bin/redis-sentinel-fn

# ---- build: a static binary from source ----
FROM docker.io/library/rust:1.88-bookworm AS build
WORKDIR /src
COPY . .
RUN triple="$(rustc -vV | sed -n 's/^host: //p')" \
 && RUSTFLAGS="-C target-feature=+crt-static" \
    cargo build --release --locked --target "$triple" --bin redis-sentinel-fn \
 && install -D -m 0755 "target/$triple/release/redis-sentinel-fn" /out/redis-sentinel-fn \
 && /out/redis-sentinel-fn --version

# ---- argocd-cmp: the Argo CD plugin sidecar (examples/argocd): a shell
# for the plugin's commands and the binary built from source ----
FROM docker.io/library/busybox:1.37 AS argocd-cmp
COPY --from=build /out/redis-sentinel-fn /usr/local/bin/redis-sentinel-fn
USER 999:999

# ---- runtime (default target, keep it last): base + the binary built from source ----
FROM base AS runtime
COPY --from=build /out/redis-sentinel-fn /usr/local/bin/redis-sentinel-fn
