import { createLogger } from "@m2m/service-kit";
import type { Counters } from "./instrument.js";
import type { ServerSpec } from "./protocol.js";
import type { RunningServer } from "./running.js";

type Env = Record<string, string>;

/** The environment each of our apps is started with, as `npm start` would get it. */
export function appEnv(spec: ServerSpec): Env {
  const common: Env = { HOST: "127.0.0.1", PORT: String(spec.port ?? 0), DATA_DIR: spec.dataDir };
  switch (spec.kind) {
    case "auth-server":
      return {
        ...common,
        ISSUER: `http://127.0.0.1:${spec.port}`,
        ACCESS_TOKEN_TTL: String(spec.tokenTtl ?? 300),
        SIGNING_ALG: spec.alg ?? "RS256",
      };
    case "payment-service":
      return { ...common, AUTH_SERVER_URL: required(spec.issuer, "issuer"), ISSUER: required(spec.issuer, "issuer") };
    case "order-service":
      return {
        ...common,
        AUTH_SERVER_URL: required(spec.issuer, "issuer"),
        ISSUER: required(spec.issuer, "issuer"),
        PAYMENT_SERVICE_URL: required(spec.paymentUrl, "paymentUrl"),
      };
    default:
      throw new Error(`${spec.kind} is not one of our apps`);
  }
}

interface AppModule<C> {
  loadConfig(env: Env): C;
  start(config: C, options: { logger: ReturnType<typeof createLogger> }): Promise<RunningServer>;
}

/** Starts auth-server, payment-service or order-service through its package entry, exactly as main.ts does minus signals. */
export async function startOurs(spec: ServerSpec, counters: Counters): Promise<RunningServer> {
  const logger = createLogger({ service: spec.kind, level: spec.logLevel ?? "info", destination: counters.logSink(spec.countTokens) });
  const app = await load(spec.kind);
  return app.start(app.loadConfig(appEnv(spec)), { logger });
}

async function load(kind: ServerSpec["kind"]): Promise<AppModule<unknown>> {
  switch (kind) {
    case "auth-server": {
      const m = await import("auth-server");
      return { loadConfig: m.loadConfig, start: m.startAuthServer } as AppModule<unknown>;
    }
    case "payment-service": {
      const m = await import("payment-service");
      return { loadConfig: m.loadConfig, start: m.startPaymentService } as AppModule<unknown>;
    }
    case "order-service": {
      const m = (await import("order-service")) as { loadConfig: AppModule<unknown>["loadConfig"]; startOrderService: AppModule<unknown>["start"] };
      return { loadConfig: m.loadConfig, start: m.startOrderService };
    }
    default:
      throw new Error(`${kind} is not one of our apps`);
  }
}

function required(value: string | undefined, name: string): string {
  if (value === undefined) throw new Error(`bench: server spec needs ${name}`);
  return value;
}
