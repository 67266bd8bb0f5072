# datafast-mcp in a container, for every machine the Linux binary does not run on (macOS, Windows,
# other distributions). Two stages on Debian 12: the build stage compiles with Debian's -dev
# packages; the runtime stage is debian:12-slim with only the shared libraries the binary links,
# CA certificates, and a non-root user. The entrypoint is the server itself:
#
#   docker build -t datafast-mcp .
#   docker run -i --rm -e DATAFAST_TOKEN -e DATAFAST_MCP_PERMISSIONS=analytics:read \
#     -e DATAFAST_MCP_WEBSITES='*' datafast-mcp                       # MCP over stdio
#   docker run -i --rm datafast-mcp --sandbox                         # try it, no account needed
#   docker run --rm -p 8787:8787 -e DATAFAST_TOKEN -e MCP_TOKEN -e DATAFAST_MCP_PERMISSIONS=... \
#     -e DATAFAST_MCP_WEBSITES=... datafast-mcp --http 0.0.0.0:8787 --auth-token-env MCP_TOKEN
#
# Off loopback (0.0.0.0), HTTP clients must send `Authorization: Bearer <MCP_TOKEN>` (at least
# 16 characters; use `openssl rand -hex 32`); the server refuses to start without it.
#
# Each stage installs its packages only when they are missing, so a base image that already holds
# them (scripts/check-container imports such bases, built with debootstrap, where no registry is
# reachable) builds with no network.

ARG BUILD_PACKAGES="g++ cmake make pkg-config libssl-dev libcpp-httplib-dev nlohmann-json3-dev libspdlog-dev libcli11-dev libboost1.81-dev libpq-dev"
ARG RUNTIME_PACKAGES="libcpp-httplib0.11 libspdlog1.10 libfmt9 libssl3 ca-certificates"

FROM docker.io/library/debian:12 AS build
ARG BUILD_PACKAGES
RUN missing=""; \
    for p in $BUILD_PACKAGES; do \
      dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"; \
    done; \
    if [ -n "$missing" ]; then \
      apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing && \
      rm -rf /var/lib/apt/lists/*; \
    fi
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DDFMCP_BUILD_TESTS=OFF \
    && cmake --build /build -j"$(nproc)" --target datafast-mcp \
    && strip /build/datafast-mcp \
    && /build/datafast-mcp --version

FROM docker.io/library/debian:12-slim
ARG RUNTIME_PACKAGES
RUN missing=""; \
    for p in $RUNTIME_PACKAGES; do \
      dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"; \
    done; \
    if [ -n "$missing" ]; then \
      apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing && \
      rm -rf /var/lib/apt/lists/*; \
    fi; \
    useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin datafast-mcp
COPY --from=build /build/datafast-mcp /usr/bin/datafast-mcp
COPY LICENSE README.md /usr/share/doc/datafast-mcp/
USER 10001:10001
ENTRYPOINT ["/usr/bin/datafast-mcp"]
