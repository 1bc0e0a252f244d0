# syntax=docker/dockerfile:1
# baton sidecar image: one esbuild bundle (build/baton.mjs, no node_modules) on a distroless Node 24 base:
# no shell, no npm, no package manager, runs as a non-root user. test/integration/image/size.test.ts
# assembles the same final stage (Node binary, its libraries, the bundle) and checks its compressed size.
#
# Two platforms, linux/amd64 and linux/arm64, with nothing emulated at build time:
#   docker buildx build --platform linux/amd64,linux/arm64 -t registry.example.com/baton:0.1.0 --push .
# The build stage runs once, on the builder's own platform ($BUILDPLATFORM): npm ci, tsc and esbuild make a
# bundle of plain JavaScript that runs on either. The final stage runs nothing (no RUN): it takes the target
# platform's image from the base's index and copies the bundle into it.
#
# Both base images are build arguments pinned by digest: each digest names a multi-platform image index
# (not one platform's manifest), so one pin serves linux/amd64 and linux/arm64. To bump one, resolve the
# tag's current index digest and check that it lists both platforms, e.g.
#   docker buildx imagetools inspect gcr.io/distroless/nodejs24-debian12:nonroot   (Digest:, and a Platform: line each)
#   crane digest gcr.io/distroless/nodejs24-debian12:nonroot                       (the index digest)
#   crane manifest gcr.io/distroless/nodejs24-debian12:nonroot@sha256:... | jq '.manifests[].platform'
# and replace the sha256 below; to build from other (e.g. locally made) images:
#   docker build --build-arg NODE_IMAGE=... --build-arg BASE_IMAGE=... -t baton .
# BASE_IMAGE must provide Node 24 at /nodejs/bin/node (the distroless layout) and nothing else is needed.
ARG NODE_IMAGE=node:24-bookworm-slim@sha256:6f7b03f7c2c8e2e784dcf9295400527b9b1270fd37b7e9a7285cf83b6951452d
ARG BASE_IMAGE=gcr.io/distroless/nodejs24-debian12:nonroot@sha256:14d42e2511532589a7c7e01a753667a74fcc96266e137e8125006b87b0c32d0a

FROM --platform=$BUILDPLATFORM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# The root package declares the worker kit as a workspace; npm ci needs its manifest, not its code.
COPY packages/baton-worker/package.json ./packages/baton-worker/
# --ignore-scripts: esbuild's binary comes from its platform package; nothing else needs an install script.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts/bundle.ts ./scripts/
RUN npx tsc -p tsconfig.build.json && node scripts/bundle.ts

FROM ${BASE_IMAGE}
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE=""
LABEL org.opencontainers.image.title="baton" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.description="Kubernetes sidecar: one long-polling worker at a time, millisecond handoffs with a Lease" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV NODE_ENV=production
COPY --from=build /src/build/baton.mjs /app/baton.mjs
# The UID must match the bot's (or the container needs CAP_KILL) for signals to reach it.
USER 1000:1000
EXPOSE 4041
# --lite-mode and a 1 MB young generation keep idle RSS low (measured by `npm run bench`, README "Memory").
ENTRYPOINT ["/nodejs/bin/node", "--lite-mode", "--max-semi-space-size=1", "/app/baton.mjs"]
