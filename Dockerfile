# vgpu-extender container image.
#
#   make image IMAGE=ghcr.io/vgpu-extender/vgpu-extender:0.1.0   (buildah/podman)
#   docker build -t ghcr.io/vgpu-extender/vgpu-extender:0.1.0 .
#   docker run --rm -p 8888:8888 ghcr.io/vgpu-extender/vgpu-extender:0.1.0 --dev --listen=0.0.0.0:8888 --insecure-admin
#     (dev mode off loopback needs --admin-token-file FILE, or --insecure-admin
#     to leave the dashboard and admin API open to whoever reaches the port)
#
# Two stages on Debian 12: the build stage compiles the daemon and vgpuctl with
# the project's Makefile; the runtime stage carries only the shared libraries
# they link against (libmicrohttpd, cJSON, libyaml, libcurl and what apt pulls
# in for them) and runs as an unprivileged user.

FROM debian:12-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      make gcc pkg-config libc6-dev \
      libmicrohttpd-dev libcjson-dev libyaml-dev libcurl4-openssl-dev zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Only what `make all` reads: the Makefile, the version, the sources and the
# dashboard page with the script that embeds it.
COPY Makefile VERSION ./
COPY include/ include/
COPY src/ src/
COPY web/ web/
COPY scripts/embed-web.sh scripts/
RUN make -j"$(nproc)" all \
 && ./build/vgpu-extender --version \
 && ./build/vgpuctl --version

FROM debian:12-slim
# ca-certificates: libcurl's default CA bundle (the API server CA itself comes
# from the service account or the kubeconfig). curl: the chart's `helm test`
# pod runs this image and calls /readyz and /filter with it (over libcurl,
# which the daemon links anyway).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libmicrohttpd12 libcjson1 libyaml-0-2 libcurl4 zlib1g ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 65532 nonroot \
 && useradd --system --uid 65532 --gid 65532 --home-dir /nonexistent \
      --no-create-home --shell /usr/sbin/nologin nonroot
COPY --from=build /src/build/vgpu-extender /src/build/vgpuctl /usr/local/bin/
USER 65532:65532
EXPOSE 8888
# The daemon takes SIGTERM itself (sigwait), so it can run as PID 1.
ENTRYPOINT ["/usr/local/bin/vgpu-extender"]
# Inside a container a loopback listener is unreachable from outside, so the
# image default listens on all addresses. The Kubernetes manifests override
# this with --listen=127.0.0.1:8888 (see deploy/deployment.yaml).
CMD ["--listen=0.0.0.0:8888"]
