import { startChargesServer } from "./charges.js";
import type { Counters } from "./instrument.js";
import type { ServerSpec } from "./protocol.js";
import type { RunningServer } from "./running.js";

/** The reference of scenario 2: payment-service's charges router with no auth in front. */
export function startUnprotectedCharges(spec: ServerSpec, counters: Counters): Promise<RunningServer> {
  return startChargesServer(spec, counters, []);
}
