# syntax=docker/dockerfile:1
#
# pod-cleanup: Node 24 runs the TypeScript sources directly (type stripping), so there is no
# build step; the image holds package.json, package-lock.json, the production node_modules and src/.
#
#   docker build -t REGISTRY/pod-cleanup:TAG .
#
# Base image: the node:24-slim tag is pinned to the major only. For reproducible, tamper-evident
# builds pin the digest as well and let a bot (Renovate, Dependabot) bump it, e.g.
#   FROM node:24-slim@sha256:<digest>
# (`docker buildx imagetools inspect node:24-slim` prints the current digest). Use the same
# reference in both stages.

# ---- production dependencies, from the lockfile ------------------------------------------------
FROM node:24-slim AS deps
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# devDependencies (the `node` binary package, TypeScript, vitest) are left out; the base image
# provides Node 24. The npm cache stays in this stage.
RUN npm ci --omit=dev --no-audit --no-fund

# ---- runtime -----------------------------------------------------------------------------------
FROM node:24-slim
WORKDIR /app
ENV NODE_ENV=production
# Everything is owned by root and read-only to the runtime user; the process writes nothing.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json ./
COPY src/ ./src/
# The base image's non-root `node` user, numeric so Kubernetes' runAsNonRoot can verify it.
USER 1000
EXPOSE 8080
# Exec form, no shell and no npm in between: Node is PID 1 and gets SIGTERM itself, and the
# service handles it (shutdown grace, then lease release). Other subcommands: `once`, `--help`.
ENTRYPOINT ["node", "src/main.ts"]
CMD ["run"]
