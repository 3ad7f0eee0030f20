# loan-gateway container image. Build: podman build --format docker -t loan-gateway .
# (or docker build -t loan-gateway .). See README.md, "Container".

# ---- build stage: the gateway and loanctl (the health probe) ----------------
FROM debian:bookworm-slim AS build
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config ca-certificates \
      libgrpc++-dev protobuf-compiler-grpc grpc-proto libprotobuf-dev protobuf-compiler \
      libcurl4-openssl-dev libssl-dev libabsl-dev libsimdjson-dev libspdlog-dev libfmt-dev \
      libsqlite3-dev libpq-dev libsodium-dev libcli11-dev prometheus-cpp-dev \
    && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*
# Only the sources the two binaries are built from, never the whole checkout
# (a secrets/ folder mounted for `podman run` sits in it). .dockerignore
# denies everything else, tests included, as a second line: keep both lists,
# and tests/container/check_build_context.py, in step.
COPY CMakeLists.txt /src/
COPY cmake /src/cmake
COPY third_party/googleapis /src/third_party/googleapis
COPY api /src/api
COPY proto /src/proto
COPY server /src/server
COPY client /src/client
RUN cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DLOAN_GATEWAY_BUILD_TESTS=OFF \
    && ninja -C /build -j"$(nproc)" loan-gateway loanctl \
    && strip /build/server/loan-gateway /build/client/loanctl

# ---- runtime stage: the two binaries and their shared libraries only ---------
FROM debian:bookworm-slim
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates libgrpc++1.51 libprotobuf32 libcurl4 libssl3 libabsl20220623 \
      libsimdjson14 libspdlog1.10 libfmt9 libsqlite3-0 libpq5 libsodium23 libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 \
    && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/* \
    && mkdir -p /var/lib/loan-gateway && chown 65534:65534 /var/lib/loan-gateway
COPY --from=build /build/server/loan-gateway /build/client/loanctl /usr/local/bin/

# Configuration comes from the environment (LOAN_GATEWAY_<FLAG>); secrets only as
# mounted files, never as variables.
# The gRPC port is mutual TLS: the certificate, key and client CA where a
# cert-manager Secret (tls.crt, tls.key, ca.crt) is mounted. Probes, which have
# no client certificate, ask the plaintext health-only port.
ENV LOAN_GATEWAY_LISTEN=0.0.0.0:50051 \
    LOAN_GATEWAY_METRICS_LISTEN=0.0.0.0:9464 \
    LOAN_GATEWAY_HEALTH_LISTEN=0.0.0.0:8081 \
    LOAN_GATEWAY_JOURNAL_PATH=/var/lib/loan-gateway/journal.db \
    LOAN_GATEWAY_API_KEY_FILE=/run/secrets/loan-gateway/api_key \
    LOAN_GATEWAY_PRIVATE_KEY_FILE=/run/secrets/loan-gateway/private_key \
    LOAN_GATEWAY_TLS_CERT_FILE=/run/secrets/loan-gateway-tls/tls.crt \
    LOAN_GATEWAY_TLS_KEY_FILE=/run/secrets/loan-gateway-tls/tls.key \
    LOAN_GATEWAY_TLS_CLIENT_CA_FILE=/run/secrets/loan-gateway-tls/ca.crt \
    LOAN_GATEWAY_POLICY_FILE=/etc/loan-gateway/policy/policy.txtpb
VOLUME /var/lib/loan-gateway
EXPOSE 50051 9464 8081
USER 65534:65534
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["/bin/sh", "-c", "loanctl --insecure --target 127.0.0.1:${LOAN_GATEWAY_HEALTH_LISTEN##*:} health"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/loan-gateway"]
