# One image per app, from one Dockerfile:
#
#   docker build --build-arg APP=order-service --build-arg PORT=4001 -t m2m-client-credentials/order-service .
#
# Three stages over a common base, the shape of turborepo's with-docker example:
#   prune   the monorepo cut down to APP and the workspaces it depends on
#   build   install (cached until a package.json or the lock file changes),
#           compile, then drop the dev dependencies
#   runtime production dependencies and dist/ only, as the non-root `node` user
#
# Plain Dockerfile syntax (no BuildKit-only features), so that the classic
# builder behind docker-compose 1.x builds it as well as `docker compose` v2.

FROM node:24-bookworm-slim AS base
ENV TURBO_TELEMETRY_DISABLED=1 \
    DO_NOT_TRACK=1 \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false
WORKDIR /app

# ---------------------------------------------------------------------------
FROM base AS prune
# the turbo version of the root package.json; only its prune runs here
ARG TURBO_VERSION=2.11.11
RUN npm install --global "turbo@${TURBO_VERSION}"
COPY . .
# (each ARG is declared just before its first use: a build arg changes the
# cache key of every RUN after it, and the layers above are shared by all apps)
ARG APP
# out/json: the package.json files and the pruned lock file (the install
# layer's only inputs); out/full: their sources
RUN test -n "$APP" || { echo "build with --build-arg APP=auth-server|order-service|payment-service" >&2; exit 1; } \
 && turbo prune "$APP" --docker

# ---------------------------------------------------------------------------
FROM base AS build
# better-sqlite3 is compiled from source by node-gyp: the toolchain lives in
# this stage only. node-gyp takes Node's headers from the image itself
# (/usr/local/include/node) rather than downloading them. (npm 11 warns
# "Unknown env config nodedir" but node-gyp reads the variable itself.)
RUN apt-get update \
 && apt-get install --yes --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
ENV npm_config_nodedir=/usr/local

COPY --from=prune /app/out/json/ ./
RUN npm ci

COPY --from=prune /app/out/full/ ./
# turbo prune copies workspaces only; every tsconfig extends this one
COPY tsconfig.base.json ./
ARG APP
RUN npx turbo run build --filter="${APP}..." \
 && npm prune --omit=dev \
 && rm -rf node_modules/.cache .turbo apps/*/.turbo packages/*/.turbo \
 && find apps packages -mindepth 2 -maxdepth 2 \
      \( -name src -o -name test -o -name 'tsconfig*.json' -o -name '*.tsbuildinfo' \) \
      -exec rm -rf {} +
# of the native addon keep the compiled binary, not its sources and objects
RUN addon=node_modules/better-sqlite3; \
    if [ -d "$addon" ]; then \
      find "$addon/build" -mindepth 1 -maxdepth 1 ! -name Release -exec rm -rf {} + \
      && find "$addon/build/Release" -mindepth 1 -maxdepth 1 ! -name better_sqlite3.node -exec rm -rf {} + \
      && rm -rf "$addon/deps" "$addon/src"; \
    fi

# ---------------------------------------------------------------------------
FROM node:24-bookworm-slim AS runtime
# a data folder the app may write; a named volume mounted here takes over
# its owner, so the app keeps running as `node`
RUN mkdir /data && chown node:node /data
COPY docker/healthcheck.mjs /usr/local/lib/healthcheck.mjs

ARG APP
ARG PORT
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=${PORT} \
    DATA_DIR=/data
COPY --from=build /app/ /app/

WORKDIR /app/apps/${APP}
USER node
EXPOSE ${PORT}
# liveness only; compose asks /readyz before starting what depends on an app
HEALTHCHECK --interval=10s --timeout=10s --start-period=60s --retries=3 \
  CMD ["node", "/usr/local/lib/healthcheck.mjs", "/healthz"]
# node itself is PID 1: the apps handle SIGTERM (stop being ready, close the
# server, close the database) and exit within a few seconds
CMD ["node", "dist/main.js"]
