/** A port on 127.0.0.1 that nothing listens on now, below the OS's ephemeral range. */
export function freePort(): Promise<number>;
