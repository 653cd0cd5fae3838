# The ringkv image: kvnode, kvctl and kvbench on Debian 12 (bookworm).
#   docker build -t ringkv .                       build stage compiles, runtime stage is slim
#   scripts/docker-image.sh [--prebuilt]           the same, or from this checkout's build/bin
# Without a registry, scripts/docker-base.sh builds debian:bookworm-slim locally first.
ARG BASE=debian:bookworm-slim

# -- runtime-base: the shared libraries the binaries need, and how a node runs and is checked ------
FROM ${BASE} AS runtime-base
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libcaf-core0.17 libcaf-io0.17 librocksdb7.8 libprotobuf32 libspdlog1.10 libfmt9 \
      libtomlplusplus3 libcpp-httplib0.11 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /data --no-create-home \
      --shell /usr/sbin/nologin ringkv \
 && mkdir -p /data && chown ringkv:ringkv /data && chmod 700 /data
# The node runs as an unprivileged user that owns only its data volume (a new named volume
# takes /data's owner and mode from the image).
USER ringkv
VOLUME /data
EXPOSE 7101 8101
# KV_NODE is the node's own address (kvctl's default target): healthy once it serves requests
# (`kvctl ready`: it has learned its members; `status` answers before that).
HEALTHCHECK --interval=2s --timeout=5s --start-period=5s --retries=30 \
  CMD kvctl --timeout 2000 ready >/dev/null || exit 1
ENTRYPOINT ["kvnode"]

# -- build: compiles the three binaries ---------------------------------------------------------
FROM ${BASE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      g++ make cmake pkg-config libcaf-dev libssl-dev librocksdb-dev libprotobuf-dev \
      protobuf-compiler catch2 libcli11-dev libtomlplusplus-dev libspdlog-dev libfmt-dev \
      libxxhash-dev libcpp-httplib-dev python3 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY messages messages
COPY storage storage
COPY cluster cluster
COPY actors actors
COPY client client
COPY test test
COPY scripts scripts
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release \
 && cmake --build /build -j"$(nproc)" --target kvnode kvctl kvbench \
 && mkdir /out && cp /build/bin/kvnode /build/bin/kvctl /build/bin/kvbench /out/

# -- runtime: the image -------------------------------------------------------------------------
FROM runtime-base AS runtime
COPY --from=build /out/ /usr/local/bin/
