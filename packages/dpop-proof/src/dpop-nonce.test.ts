import { createSecretKey } from "node:crypto";
import { describe, expect, it } from "vitest";
import { DPoPNonces } from "./dpop-nonce.js";

describe("DPoPNonces (RFC 9449 §8)", () => {
  const at = (ms: number) => () => ms;
  const T = 1_800_000_000_000;

  it("hands out one nonce per step, and accepts it during that step and one either side", () => {
    const nonce = new DPoPNonces({ secret: "a secret of 32 bytes, more or less", clock: at(T) }).current();
    for (const offset of [-60_000, 0, 59_000, 60_000]) {
      expect(new DPoPNonces({ secret: "a secret of 32 bytes, more or less", clock: at(T + offset) }).accepts(nonce), String(offset)).toBe(true);
    }
  });

  it("refuses a nonce two steps old: it is stale", () => {
    const old = new DPoPNonces({ secret: "a secret of 32 bytes, more or less", clock: at(T - 120_000) }).current();
    const now = new DPoPNonces({ secret: "a secret of 32 bytes, more or less", clock: at(T) });
    expect(now.accepts(old)).toBe(false);
    expect(now.current()).not.toBe(old);
  });

  it("needs no shared store: any instance with the same secret accepts another's nonce, no other does", () => {
    const a = new DPoPNonces({ secret: "the shared secret of the fleet!!", clock: at(T) });
    const b = new DPoPNonces({ secret: "the shared secret of the fleet!!", clock: at(T + 1_000) });
    const stranger = new DPoPNonces({ clock: at(T) });
    expect(b.accepts(a.current())).toBe(true);
    expect(stranger.accepts(a.current())).toBe(false);
  });

  it.each(["", "x", "not base64url!", "A".repeat(43), "A".repeat(44)])("refuses %j", (nonce) => {
    expect(new DPoPNonces({ clock: at(T) }).accepts(nonce)).toBe(false);
  });

  it("refuses a short secret: 16 bytes at least", () => {
    expect(() => new DPoPNonces({ secret: "short", clock: at(T) })).toThrow(/16 bytes/);
    expect(() => new DPoPNonces({ secret: "x".repeat(15), clock: at(T) })).toThrow(/16 bytes/);
    expect(new DPoPNonces({ secret: "x".repeat(16), clock: at(T) }).current()).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("takes the secret as text, bytes or a KeyObject: the same key gives the same nonces", () => {
    const bytes = new TextEncoder().encode("a secret of 32 bytes, more or less");
    const nonce = new DPoPNonces({ secret: "a secret of 32 bytes, more or less", clock: at(T) }).current();
    expect(new DPoPNonces({ secret: bytes, clock: at(T) }).current()).toBe(nonce);
    expect(new DPoPNonces({ secret: createSecretKey(bytes), clock: at(T) }).current()).toBe(nonce);
  });

  it.each([0, -60, 1.5, Number.NaN, Number.POSITIVE_INFINITY])("refuses a stepSeconds of %s", (stepSeconds) => {
    expect(() => new DPoPNonces({ stepSeconds, clock: at(T) })).toThrow("stepSeconds must be a positive integer");
  });

  it("a nonce of a 10-second step is good until the end of the next step", () => {
    const nonce = new DPoPNonces({ secret: "a secret of 32 bytes, more or less", stepSeconds: 10, clock: at(T) }).current();
    const at10 = (ms: number) => new DPoPNonces({ secret: "a secret of 32 bytes, more or less", stepSeconds: 10, clock: at(ms) });
    expect(at10(T + 19_999).accepts(nonce)).toBe(true);
    expect(at10(T + 20_000).accepts(nonce)).toBe(false);
    expect(at10(T - 10_000).accepts(nonce)).toBe(true);
    expect(at10(T - 10_001).accepts(nonce)).toBe(false);
  });

  it("accepts a nonce only as it was handed out: not another base64url spelling of the same bytes", () => {
    const nonces = new DPoPNonces({ clock: at(T) });
    const nonce = nonces.current();
    // 32 bytes leave 2 spare bits in the last of 43 characters: setting one decodes to the same bytes
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const sameBytes = nonce.slice(0, -1) + alphabet[alphabet.indexOf(nonce.at(-1)!) + 1];
    expect(Buffer.from(sameBytes, "base64url").equals(Buffer.from(nonce, "base64url"))).toBe(true);
    expect(nonces.accepts(nonce)).toBe(true);
    for (const variant of [`${nonce}=`, `${nonce} `, sameBytes]) expect(nonces.accepts(variant), variant).toBe(false);
  });
});
