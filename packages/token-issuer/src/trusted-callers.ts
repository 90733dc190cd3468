/**
 * The callers that have proved they hold a client's credential: (client,
 * address) pairs that have authenticated successfully, each trusted until a
 * time. The failure limiter lets a trusted pair through whatever failures
 * others make elsewhere or under other ids, so an attacker who lacks the
 * credential cannot lock a client out of the addresses it works from.
 *
 * Implementations must survive the restarts they are used across (the
 * auth-server keeps them in its database), and must never evict one client's
 * entries to make room for another's: only the client's own successes may
 * push out its oldest addresses.
 */
export interface TrustedCallers {
  /** Until when (ms since the epoch) `address` is trusted for `clientId`; `undefined` when it is not, or no longer. */
  trustedUntil(clientId: string, address: string, now: number): Promise<number | undefined>;
  /** Trusts `address` for `clientId` until `until` (ms since the epoch). */
  trust(clientId: string, address: string, until: number): Promise<void>;
}

/** How many addresses one client may be trusted at; its oldest go first. */
export const ADDRESSES_PER_CLIENT = 64;

/**
 * {@link TrustedCallers} in this process's memory: forgotten at restart,
 * so only for tests and for deployments that accept that. Bounded per
 * client, never across clients.
 */
export class MemoryTrustedCallers implements TrustedCallers {
  private readonly byClient = new Map<string, Map<string, number>>();

  constructor(private readonly addressesPerClient = ADDRESSES_PER_CLIENT) {}

  async trustedUntil(clientId: string, address: string, now: number): Promise<number | undefined> {
    const until = this.byClient.get(clientId)?.get(address);
    return until !== undefined && until > now ? until : undefined;
  }

  async trust(clientId: string, address: string, until: number): Promise<void> {
    let addresses = this.byClient.get(clientId);
    if (addresses === undefined) {
      addresses = new Map();
      this.byClient.set(clientId, addresses);
    }
    addresses.delete(address);
    addresses.set(address, until);
    // insertion order is renewal order: the first is the one renewed longest ago
    while (addresses.size > this.addressesPerClient) addresses.delete(addresses.keys().next().value!);
  }
}
