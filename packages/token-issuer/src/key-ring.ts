import { readKeys, removeKeyFile, writeKeyFile, type NewKey, type SigningAlgorithm, type StoredKey } from "./key-files.js";

/** What one change of a {@link KeyRing} does: at most one key added, any number removed (by `kid`). */
export interface KeyRingChange {
  add?: NewKey;
  remove: readonly string[];
}

/**
 * Where the signing keys are kept, private parts included: the one source of
 * truth every process that signs reads (a directory of key files, or a
 * database table shared by every instance). Which key signs when follows
 * from the keys' activation times alone (see `KeySchedule`), so readers need
 * no coordination; only changes do, and {@link KeyRing.change} gives them
 * the exclusion they need.
 */
export interface KeyRing {
  /** Where the keys are, for messages (never a secret). */
  readonly description: string;
  /** Every key held. */
  read(): Promise<StoredKey[]>;
  /**
   * Changes the ring with every other process that shares it held off:
   * `plan` sees the keys as they are once the others are held off, and says
   * what to add and remove; the change is applied before anyone else may
   * change the ring. With `wait: false`, resolves `undefined` at once when
   * another process is changing the ring (it is deciding the same thing from
   * the same keys); with `wait: true`, waits for it.
   */
  change(plan: (keys: readonly StoredKey[]) => Promise<KeyRingChange>, options: { wait: boolean }): Promise<KeyRingChange | undefined>;
}

/**
 * A {@link KeyRing} on a directory of key files (see `readKeys`): the
 * default, on one machine. Changes are serialized within this process; two
 * processes managing one directory could each rotate, so only one should
 * manage it (a shared ring for several instances is a database's job).
 */
export class DirectoryKeyRing implements KeyRing {
  private changing: Promise<unknown> = Promise.resolve();
  private busy = false;

  constructor(
    readonly path: string,
    private readonly defaultAlg: SigningAlgorithm,
  ) {}

  get description(): string {
    return this.path;
  }

  read(): Promise<StoredKey[]> {
    return readKeys(this.path, this.defaultAlg);
  }

  async change(plan: (keys: readonly StoredKey[]) => Promise<KeyRingChange>, options: { wait: boolean }): Promise<KeyRingChange | undefined> {
    if (this.busy && !options.wait) return undefined;
    const run = this.changing.then(async () => {
      this.busy = true;
      try {
        const keys = await this.read();
        const change = await plan(keys);
        if (change.add) await writeKeyFile(this.path, change.add);
        for (const kid of change.remove) {
          const key = keys.find((k) => k.kid === kid);
          if (key) await removeKeyFile(key.source);
        }
        return change;
      } finally {
        this.busy = false;
      }
    });
    this.changing = run.catch(() => undefined);
    return run;
  }
}
