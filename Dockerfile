# syntax=docker/dockerfile:1
#
# cloudmap-sd: Prometheus service discovery for Amazon ECS through AWS Cloud Map.
# Two stages: `build` bundles src/main.ts and every dependency into one ES module
# (build.mjs, esbuild), and the final stage ships that file and package.json: no
# node_modules. test/deploy/dockerfile.test.ts replays these steps without a Docker
# engine, so keep the instructions in exec (JSON) form and the COPY lines explicit.

ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json build.mjs ./
COPY src ./src
# Bundling only: CI type-checks (npm test) before an image is built from the same commit.
RUN ["node", "build.mjs", "sidecar"]

FROM ${NODE_IMAGE} AS runtime
# glibc malloc: two arenas instead of 8 per core, and blocks of 128 KiB and more mapped and
# unmapped on their own rather than kept in an arena, so freed response and write buffers go back
# to the system: 6-11 MB less peak RSS at 10,000 instances, no measurable CPU (BENCHMARKS.md).
ENV NODE_ENV=production \
    CONFIG_FILE_DIR=/etc/config \
    LISTEN_ADDRESS=0.0.0.0:9001 \
    MALLOC_ARENA_MAX=2 \
    MALLOC_MMAP_THRESHOLD_=131072 \
    MALLOC_TRIM_THRESHOLD_=131072
WORKDIR /app
# The only writable path: the sidecar renames temp files into CONFIG_FILE_DIR, so that
# directory (never a single file: rename onto a bind-mounted file fails with EBUSY) is a
# volume. ECS copies the image's ownership of a VOLUME path into a task bind mount, which
# is what lets the non-root user write there while the root filesystem stays read-only.
RUN mkdir -p /etc/config && chown node:node /etc/config
# package.json: "type": "module" (without it Node parses the bundle twice, as CommonJS first)
# and the version that --version and cloudmap_sd_build_info report.
COPY package.json ./
COPY --from=build /app/dist/src ./dist/src
USER node
VOLUME ["/etc/config"]
EXPOSE 9001
# The sidecar exits 0 on SIGTERM within 2 s (ECS sends SIGTERM, then SIGKILL after stopTimeout).
STOPSIGNAL SIGTERM
# No curl in the image: Node's own fetch probes /healthz on the port of LISTEN_ADDRESS.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "const a=process.env.LISTEN_ADDRESS||'0.0.0.0:9001';fetch('http://127.0.0.1:'+a.slice(a.lastIndexOf(':')+1)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Node and V8 flags go between "node" and the script (npm run bench reads them from here, so it
# measures the process as the image runs it). A small young generation and an old space that grows
# by 20 % per GC instead of up to 4x keep a sidecar's garbage small; neither is a fixed cap, so a
# bigger estate still gets the heap it needs. --no-maglev: V8's mid-tier compiler (on by default
# since Node 22) costs ~6 MB of peak RSS at 10,000 instances for no measurable CPU in a loop of AWS
# calls (BENCHMARKS.md). Not --enable-source-maps: on Node 24 parsing the bundle's map costs ~55 MB
# of RSS; add it only to read a stack trace.
ENTRYPOINT ["node", "--max-semi-space-size=2", "--heap-growing-percent=20", "--no-maglev", "dist/src/main.js"]
