import { createHmac, createSecretKey, KeyObject, randomBytes, timingSafeEqual } from "node:crypto";

export interface DPoPNonceOptions {
  /**
   * The key nonces are derived from. Every instance given the same secret
   * accepts the others' nonces; without one, a random secret is made, and
   * the nonces of this process are good at this process only. A
   * `KeyObject` (`createSecretKey`) keeps it out of logs and dumps.
   */
  secret?: string | Uint8Array | KeyObject;
  /** How long one nonce is handed out, seconds (default 60); it is accepted for one step more either side. */
  stepSeconds?: number;
  /** Milliseconds since the epoch. */
  clock: () => number;
}

/**
 * Server-provided DPoP nonces (RFC 9449 §8), kept nowhere: a nonce is
 * `base64url(HMAC-SHA256(secret, step))` for the current time step, so any
 * instance that holds the secret can hand one out and check one, with no
 * shared store. A nonce is accepted during its own step and the steps either
 * side of it (so between one and two steps after it was handed out, and
 * whatever the clocks of two instances say within a step of each other).
 *
 * The nonce binds a proof to a recent moment chosen by the server, so a proof
 * made in advance (RFC 9449 §11.2, a client's signing key used while the
 * attacker had it) is no good for long.
 */
export class DPoPNonces {
  private readonly secret: KeyObject;
  private readonly stepMs: number;
  private readonly clock: () => number;
  private step = Number.NaN;
  /** The nonces of steps `step - 1`, `step`, `step + 1`, made once per step. */
  private window: Buffer[] = [];

  constructor(options: DPoPNonceOptions) {
    const stepSeconds = options.stepSeconds ?? 60;
    if (!(Number.isInteger(stepSeconds) && stepSeconds > 0)) throw new TypeError("stepSeconds must be a positive integer");
    const secret = options.secret ?? randomBytes(32);
    this.secret = secret instanceof KeyObject ? secret : createSecretKey(Buffer.from(secret));
    if ((this.secret.symmetricKeySize ?? 0) < 16) throw new TypeError("the DPoP nonce secret must be at least 16 bytes");
    this.stepMs = stepSeconds * 1000;
    this.clock = options.clock;
  }

  /** The nonce to hand out now (the `DPoP-Nonce` header). */
  current(): string {
    return this.nonces()[1]!.toString("base64url");
  }

  /** Whether `nonce` is one this server handed out recently. Constant time in the nonce's content. */
  accepts(nonce: string): boolean {
    const given = Buffer.from(nonce, "base64url");
    // the length is no secret: every nonce has 32 bytes
    return given.length === 32 && given.toString("base64url") === nonce && this.nonces().some((known) => timingSafeEqual(known, given));
  }

  private nonces(): Buffer[] {
    const step = Math.floor(this.clock() / this.stepMs);
    if (step !== this.step) {
      this.window = [step - 1, step, step + 1].map((s) => createHmac("sha256", this.secret).update(`DPoP-Nonce ${s}`).digest());
      this.step = step;
    }
    return this.window;
  }
}
