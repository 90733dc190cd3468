/** What a failed metadata or JWK Set fetch throws. Internal: for logs, never for clients. */
export class KeySourceError extends Error {
  override name = "KeySourceError";
}

export interface FetchJsonOptions {
  fetch: typeof fetch;
  timeoutMs: number;
  headers?: Readonly<Record<string, string>>;
  /** Bodies larger than this are refused (a key source is a few kB). */
  maxBytes?: number;
}

/**
 * `GET url` and parse the JSON body, with a timeout, without following
 * redirects (a 3xx from a key source is an error, as in jose's remote JWK
 * Set), and with a size bound.
 */
export async function fetchJson(url: string, options: FetchJsonOptions): Promise<unknown> {
  const maxBytes = options.maxBytes ?? 512 * 1024;
  let response: Response;
  try {
    response = await options.fetch(url, {
      method: "GET",
      redirect: "manual",
      signal: AbortSignal.timeout(options.timeoutMs),
      headers: { accept: "application/json", ...options.headers },
    });
  } catch (error) {
    const timedOut = error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
    // undici wraps the socket error: its code (ECONNREFUSED, ENOTFOUND...) is what an operator needs
    const code = (error as { cause?: { code?: unknown } } | undefined)?.cause?.code;
    const reason = timedOut ? `no answer within ${options.timeoutMs} ms` : `unreachable${typeof code === "string" ? ` (${code})` : ""}`;
    throw new KeySourceError(`GET ${url}: ${reason}`, { cause: error });
  }
  if (response.status !== 200) {
    await response.body?.cancel().catch(() => {});
    throw new KeySourceError(`GET ${url}: expected 200, got ${response.status}`);
  }
  const declared = Number(response.headers.get("content-length") ?? "0");
  if (declared > maxBytes) {
    await response.body?.cancel().catch(() => {});
    throw new KeySourceError(`GET ${url}: body larger than ${maxBytes} bytes`);
  }
  let text: string;
  try {
    text = await response.text();
  } catch (error) {
    throw new KeySourceError(`GET ${url}: the body could not be read`, { cause: error });
  }
  if (text.length > maxBytes) throw new KeySourceError(`GET ${url}: body larger than ${maxBytes} bytes`);
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new KeySourceError(`GET ${url}: the body is not JSON`, { cause: error });
  }
}
