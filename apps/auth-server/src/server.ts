import type { Server } from "node:http";
import { stat } from "node:fs/promises";
import { closeServer, createLogger, createMetricsRegistry, listen, serverUrl, type Logger } from "@m2m/service-kit";
import {
  ClientRegistry,
  developmentRegistry,
  loadRegistryFile,
  SigningKeys,
  systemClock,
  TokenIssuer,
  type Clock,
} from "@m2m/token-issuer";
import { createApp, JWKS_MAX_AGE_SECONDS } from "./app.js";
import { logIssuerEvents } from "./events.js";
import { countIssuerEvents } from "./metrics.js";
import type { AuthServerConfig } from "./config.js";
import { openStores } from "./stores/index.js";

export interface StartOptions {
  logger?: Logger;
  /** Injected in tests to move time (key rotation, expiry). */
  clock?: Clock;
}

export interface RunningAuthServer {
  server: Server;
  url: string;
  issuer: TokenIssuer;
  keys: SigningKeys;
  /** Re-reads the key directory and the registry file now (what SIGHUP and the reload timer do). */
  reload(): Promise<void>;
  /** Stops being ready and stops the reload timer (the first step of a shutdown). */
  stop(): Promise<void>;
  /** Closes the stores (the last step, once the server has closed). */
  release(): Promise<void>;
  /** {@link RunningAuthServer.stop}, then closes the server, then {@link RunningAuthServer.release}. */
  close(): Promise<void>;
}

/**
 * Everything `main` does but signal handling: opens the stores (under
 * `DATA_DIR`, or shared: PostgreSQL and Redis), loads the registry and the
 * signing keys (generating the first one outside production), listens, and
 * re-reads keys and registry every `KEY_RELOAD_INTERVAL` so rotations,
 * another instance's included, and disabled clients take effect.
 */
export async function startAuthServer(config: AuthServerConfig, options: StartOptions = {}): Promise<RunningAuthServer> {
  const logger = options.logger ?? createLogger({ service: "auth-server" });
  const clock = options.clock ?? systemClock;
  const registry = config.clients.source === "development" ? developmentRegistry() : new ClientRegistry(config.clients.data);
  if (config.clients.source === "development") {
    logger.warn({ clients: registry.data.clients.map((c) => c.clientId) }, "registry.development");
  }

  const stores = await openStores(config, logger);
  let keys: SigningKeys;
  try {
    keys = await SigningKeys.open({
      // in PostgreSQL every instance manages the one ring, taking turns; files only where they are the server's own
      ...(stores.keyRing ? { ring: stores.keyRing } : { path: config.keys.path }),
      alg: config.keys.alg,
      tokenTtlSeconds: config.accessTokenTtl,
      manage: stores.keyRing !== undefined || config.keys.managed,
      generateIfMissing: !config.production,
      publishLeadSeconds: config.keys.publishLeadSeconds,
      ...(config.keys.rotationIntervalSeconds !== undefined ? { rotationIntervalSeconds: config.keys.rotationIntervalSeconds } : {}),
      clock,
    });
  } catch (error) {
    await stores.close();
    throw error;
  }
  const metrics = createMetricsRegistry();
  const issuer = new TokenIssuer({
    issuer: config.issuer,
    registry,
    keys,
    accessTokenTtl: config.accessTokenTtl,
    clock,
    stores: {
      trustedCallers: stores.trustedCallers,
      usedIdentifiers: stores.usedIdentifiers,
      ...(stores.failureCounts ? { failureCounts: stores.failureCounts } : {}),
    },
    dpop: { requireNonce: config.dpop.requireNonce, ...(config.dpop.nonceSecret ? { nonceSecret: config.dpop.nonceSecret } : {}) },
    ...countIssuerEvents(metrics, logIssuerEvents(logger)),
  });
  const current = keys.current();
  logger.info({ kids: keys.published().map((k) => k.kid), alg: current.alg, current: current.kid }, "keys.ready");
  if (current.alg !== config.keys.alg) {
    logger.warn({ alg: current.alg, configured: config.keys.alg }, "keys.algorithm_differs");
  }
  // A rotated-in key reaches every instance's JWK Set within the reload interval, and a resource
  // server may keep the set it fetched for its max-age: a shorter lead lets a token signed with the
  // new key reach a resource server that does not hold it yet (it refetches once on an unknown kid).
  const leadNeeded = config.keys.reloadIntervalSeconds + JWKS_MAX_AGE_SECONDS;
  if (config.keys.publishLeadSeconds < leadNeeded) {
    logger.warn(
      { publish_lead: config.keys.publishLeadSeconds, reload_interval: config.keys.reloadIntervalSeconds, jwks_max_age: JWKS_MAX_AGE_SECONDS, needed: leadNeeded },
      "keys.publish_lead_short",
    );
  }

  let ready = true;
  const app = createApp({ issuer, logger, metrics, ready: () => ready });
  let server: Server;
  try {
    server = await listen(app, config.port, config.host, config.http);
  } catch (error) {
    await stores.close();
    throw error;
  }
  const url = serverUrl(server);
  logger.info(
    {
      url,
      issuer: config.issuer,
      // a generated secret makes this instance's nonces good here only: worth a word when nonces are required
      dpop_nonce: config.dpop.requireNonce ? (config.dpop.nonceSecret ? "required" : "required, secret of this instance only") : "not required",
    },
    "service.started",
  );

  let registryStamp = config.clients.source === "file" ? await mtime(config.clients.path) : undefined;
  let reloading: Promise<void> | undefined;
  const reloadOnce = async () => {
    try {
      const result = await keys.refresh();
      if (result.changed) {
        logger.info(
          { kids: keys.published().map((k) => k.kid), current: keys.current().kid, rotated: result.rotated, removed: result.removed },
          "keys.changed",
        );
      }
    } catch (error) {
      logger.error({ err: error }, "keys.reload_failed");
    }
    if (config.clients.source === "file") {
      try {
        const stamp = await mtime(config.clients.path);
        if (stamp !== registryStamp) {
          issuer.setRegistry(new ClientRegistry(await loadRegistryFile(config.clients.path)));
          registryStamp = stamp;
          logger.info({ clients: issuer.registry.data.clients.length }, "registry.reloaded");
        }
      } catch (error) {
        // Keep serving with the registry we have; a broken edit must not take the server down.
        logger.error({ reason: error instanceof Error ? error.message : String(error) }, "registry.reload_failed");
      }
    }
  };
  const reload = () => (reloading ??= reloadOnce().finally(() => (reloading = undefined)));
  const timer = setInterval(() => void reload(), config.keys.reloadIntervalSeconds * 1000);
  timer.unref();

  const stop = async () => {
    ready = false;
    clearInterval(timer);
    await reloading;
  };

  return {
    server,
    url,
    issuer,
    keys,
    reload,
    stop,
    release: () => stores.close(),
    async close() {
      await stop();
      await closeServer(server);
      await stores.close();
    },
  };
}

async function mtime(path: string): Promise<number | undefined> {
  return (await stat(path).catch(() => undefined))?.mtimeMs;
}
