# syntax=docker/dockerfile:1
#
# pod-cleanup: the TypeScript sources are compiled and bundled in a build stage (`npm run build`:
# dist/, then dist-image/, the entry point with every dependency it reaches); the image runs that
# bundle with Node flags sized for a controller. It holds package.json and dist-image/ (with the
# licenses of the code it carries); no node_modules, no compiler, no sources, no npm run.
#
#   docker build -t REGISTRY/pod-cleanup:TAG .
#
# Base image: the node:24-slim tag is pinned to the major only. For reproducible, tamper-evident
# builds pin the digest as well and let a bot (Renovate, Dependabot) bump it, e.g.
#   FROM node:24-slim@sha256:<digest>
# (`docker buildx imagetools inspect node:24-slim` prints the current digest). Use the same
# reference in every stage.

# ---- compiled output ---------------------------------------------------------------------------
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Every dependency, for the compiler. No install scripts: the only one is the `node`
# devDependency's download of a second Node binary, and the base image's Node compiles.
RUN npm ci --ignore-scripts --no-audit --no-fund
# The build context: sources and tsconfig files (.dockerignore keeps tests, benchmarks and docs out).
COPY . .
# dist/ (what the npm package ships) and the bundle made from it, dist-image/ (what the image runs).
# The bundle carries only code: the simulated API server's TLS fixture (a key that is public in
# this repository, in dist/sim/tls for the npm package) never reaches the image.
RUN npm run build

# ---- runtime -----------------------------------------------------------------------------------
FROM node:24-slim
WORKDIR /app
# MALLOC_ARENA_MAX=1: one glibc malloc arena instead of one per thread (V8's GC helpers, libuv), whose
# freed memory otherwise stays resident: 15-25 MiB less peak RSS at 100 000 pods, CPU unchanged.
# MALLOC_MMAP_THRESHOLD_=131072: glibc's default threshold, fixed. By default glibc raises it (up to
# 32 MiB) each time a large block is freed, after which large blocks come from the arena and what is
# freed there stays resident (the arena grew to 55 MiB at 100 000 pods, 25 MiB with the fixed
# threshold); 10-20 MiB less peak RSS at 100 000 pods, and a steadier peak from run to run.
ENV NODE_ENV=production MALLOC_ARENA_MAX=1 MALLOC_MMAP_THRESHOLD_=131072
# Everything is owned by root and read-only to the runtime user; the process writes nothing.
# package.json: the version, and "type": "module" for the bundle's files.
COPY --from=build /app/dist-image ./dist-image
COPY package.json ./
# The base image's non-root `node` user, numeric so Kubernetes' runAsNonRoot can verify it.
USER 1000
EXPOSE 8080
# Exec form, no shell and no npm in between: Node is PID 1 and gets SIGTERM itself, and the
# service handles it (shutdown grace, then lease release). Other subcommands: `once`, `--help`.
# The Node flags (measured with `npm run bench -- --only scale`; README, Deploy > Sizing):
# - a young generation of 2 x 8 MiB semi-spaces at most: by default V8 grows it to 2 x 64 MiB. 8 MiB
#   holds what a list page of 100 pods allocates while it is decoded, so that dies young; 4 MiB
#   promoted it (more CPU, no less memory), 16 MiB cost 20 MiB more for 20 % less list time;
# - the old generation capped at half the container's memory limit (cgroup), so the heap follows
#   the Deployment's `limits.memory` (the one knob) and V8 collects harder before the kernel's OOM
#   killer would step in; the other half is for what is not V8's heap (the binary's code, malloc,
#   buffers: about 110-130 MiB at 100 000 pods with the bundle, 130-160 before it);
# - the old generation grown by 20 % over what the last full GC kept (V8 picks 1.1-4x by itself, about
#   1.35x here): deciding 100 000 pods promotes garbage (pods waiting in the intake queue, requests in
#   flight) that a full GC collects sooner: 5-10 MiB less peak RSS, CPU within run-to-run noise.
# These flags win over the same ones in NODE_OPTIONS; use NODE_OPTIONS for others (diagnostics).
ENTRYPOINT ["node", "--max-semi-space-size=8", "--max-old-space-size-percentage=50", "--heap-growing-percent=20", "dist-image/main.js"]
CMD ["run"]
