import { join } from "node:path";
import { ReplayQuotaError } from "@m2m/token-issuer";
import { afterEach, describe, expect, it } from "vitest";
import { openAuthServerStore, type AuthServerStore } from "../src/store.js";
import { tempDir } from "./support.js";

const opened: AuthServerStore[] = [];
afterEach(() => opened.splice(0).forEach((store) => store.close()));
function open(file: string, options?: Parameters<typeof openAuthServerStore>[1]): AuthServerStore {
  const store = openAuthServerStore(file, options);
  opened.push(store);
  return store;
}

const FAR = Date.now() + 3_600_000;

describe("the auth-server's store (SQLite)", () => {
  it("remembers trusted callers across a reopen, and forgets them when their trust lapses", async () => {
    const file = join(tempDir(), "auth.db");
    await open(file).trustedCallers.trust("order-service", "10.0.0.1", FAR);
    await open(file).trustedCallers.trust("order-service", "10.0.0.2", Date.now() - 1);
    const reopened = open(file).trustedCallers;
    expect(await reopened.trustedUntil("order-service", "10.0.0.1", Date.now())).toBe(FAR);
    expect(await reopened.trustedUntil("order-service", "10.0.0.2", Date.now())).toBeUndefined();
    expect(await reopened.trustedUntil("reporting-service", "10.0.0.1", Date.now())).toBeUndefined();
  });

  it("keeps a bounded number of addresses per client, and only that client's own successes push its oldest out", async () => {
    const file = join(tempDir(), "auth.db");
    const { trustedCallers } = open(file, { addressesPerClient: 3 });
    await trustedCallers.trust("order-service", "10.0.0.1", FAR);
    for (let i = 0; i < 500; i++) await trustedCallers.trust("reporting-service", `10.1.0.${i}`, FAR);
    expect(await trustedCallers.trustedUntil("order-service", "10.0.0.1", Date.now())).toBe(FAR);
    for (const address of ["10.0.0.2", "10.0.0.3", "10.0.0.4"]) await trustedCallers.trust("order-service", address, FAR);
    const reopened = open(file, { addressesPerClient: 3 }).trustedCallers;
    expect(await reopened.trustedUntil("order-service", "10.0.0.1", Date.now())).toBeUndefined();
    expect(await reopened.trustedUntil("order-service", "10.0.0.4", Date.now())).toBe(FAR);
  });

  it("records an identifier once until it expires, across a reopen and across two connections to one file", async () => {
    const file = join(tempDir(), "auth.db");
    const now = Date.now();
    const first = open(file).usedIdentifiers;
    const second = open(file).usedIdentifiers;
    expect(await first.use("signer", "jti-1", now + 60_000, now)).toBe(true);
    expect(await second.use("signer", "jti-1", now + 60_000, now)).toBe(false);
    expect(await second.use("other", "jti-1", now + 60_000, now)).toBe(true);
    expect(await open(file).usedIdentifiers.use("signer", "jti-1", now + 60_000, now + 1_000)).toBe(false);
    // once expired, the identifier is no longer a replay
    expect(await first.use("signer", "jti-1", now + 120_000, now + 60_000)).toBe(true);
  });

  it("refuses a client that holds its whole share of live identifiers, and only that client", async () => {
    const { usedIdentifiers } = open(join(tempDir(), "auth.db"), { identifiersPerClient: 5 });
    const now = Date.now();
    for (let i = 0; i < 5; i++) expect(await usedIdentifiers.use("flooder", `jti-${i}`, now + 60_000, now)).toBe(true);
    await expect(usedIdentifiers.use("flooder", "jti-5", now + 60_000, now)).rejects.toThrow(ReplayQuotaError);
    expect(await usedIdentifiers.use("signer", "jti-0", now + 60_000, now)).toBe(true);
    expect(await usedIdentifiers.use("flooder", "jti-6", now + 120_000, now + 60_000)).toBe(true);
  });

  it("keeps each client's share across two connections to one file, a reopen and the periodic sweep of expired identifiers", async () => {
    const file = join(tempDir(), "auth.db");
    const now = Date.now();
    const first = open(file, { identifiersPerClient: 5 }).usedIdentifiers;
    const second = open(file, { identifiersPerClient: 5 }).usedIdentifiers;
    for (let i = 0; i < 3; i++) expect(await first.use("flooder", `a-${i}`, now + 1_000, now)).toBe(true);
    for (let i = 0; i < 2; i++) expect(await second.use("flooder", `b-${i}`, now + 60_000, now)).toBe(true);
    await expect(first.use("flooder", "a-3", now + 60_000, now)).rejects.toThrow(ReplayQuotaError);
    await expect(open(file, { identifiersPerClient: 5 }).usedIdentifiers.use("flooder", "c-0", now + 60_000, now)).rejects.toThrow(ReplayQuotaError);

    // 1000 records by other clients: the sweep deletes the flooder's three expired identifiers, and its share follows
    const later = now + 2_000;
    for (let i = 0; i < 1000; i++) await second.use(`signer-${i}`, "jti", later + 60_000, later);
    for (let i = 0; i < 3; i++) expect(await second.use("flooder", `d-${i}`, later + 60_000, later)).toBe(true);
    await expect(first.use("flooder", "d-3", later + 60_000, later)).rejects.toThrow(ReplayQuotaError);
    // the swept identifiers are not replays any more; the live ones still are
    expect(await first.use("other", "a-0", later + 60_000, later)).toBe(true);
    expect(await first.use("flooder", "b-0", later + 60_000, later)).toBe(false);
  });
});
