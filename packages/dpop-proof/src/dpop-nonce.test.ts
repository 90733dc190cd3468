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

  it("refuses a short secret", () => {
    expect(() => new DPoPNonces({ secret: "short", clock: at(T) })).toThrow(/16 bytes/);
  });
});
