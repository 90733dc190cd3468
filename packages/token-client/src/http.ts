import { isAxiosError, type AxiosInstance, type AxiosRequestConfig } from "axios";
import { deadline } from "./deadline.js";
import { AuthServerUnavailableError } from "./errors.js";
import { parseRetryAfter } from "./retry.js";
import { inClientSpan } from "./tracing.js";

/** An answer from the authorization server, body parsed when it is JSON. */
export interface Answer {
  status: number;
  headers: Record<string, unknown>;
  /** The parsed JSON body, or `undefined` when the body is not JSON. */
  json: unknown;
}

/** How long one exchange may take, and who else may end it. */
export interface ExchangeLimits {
  /** The whole exchange, milliseconds: connecting, sending, and the status, headers and entire body. */
  totalTimeoutMs: number;
  /** The client's own signal (a shutdown): once aborted, the exchange ends and its reason is thrown. */
  signal?: AbortSignal;
}

/**
 * One HTTP exchange with the authorization server. Every status is an
 * answer; only a transport failure throws, as an
 * {@link AuthServerUnavailableError} that keeps the network error code and
 * nothing else. The axios error is dropped on purpose: its `config` holds the
 * request headers and body, hence the client's credentials.
 *
 * The exchange ends after `limits.totalTimeoutMs` whatever the server is
 * doing (`ETIMEDOUT`). axios's own `timeout` is not that: in Node it is an
 * idle timeout on the socket, so a server that sends one byte a second
 * holds the request as long as it likes.
 */
export function exchange(
  http: AxiosInstance,
  request: AxiosRequestConfig & { method: string; url: string; headers: Record<string, string> },
  what: string,
  limits: ExchangeLimits,
): Promise<Answer> {
  // a client span, whose traceparent goes with the request
  return inClientSpan(request.method, request.url, request.headers, () => exchangeOnce(http, request, what, limits));
}

async function exchangeOnce(http: AxiosInstance, request: AxiosRequestConfig, what: string, limits: ExchangeLimits): Promise<Answer> {
  const limit = deadline(limits.totalTimeoutMs, limits.signal);
  try {
    const response = await http.request<string>({
      ...request,
      signal: limit.signal,
      // The token endpoint and metadata never redirect; following one would
      // send the credentials somewhere else (RFC 9700 §4.12).
      maxRedirects: 0,
      responseType: "text",
      transformResponse: [(data: unknown) => data],
      validateStatus: () => true,
      maxContentLength: 1 << 20,
    });
    return { status: response.status, headers: { ...response.headers }, json: parseJson(response.data) };
  } catch (error) {
    // The client gave up (it is shutting down): not the server's failure, and not to be retried.
    if (limits.signal?.aborted) throw limits.signal.reason;
    if (limit.expired) {
      throw new AuthServerUnavailableError(`${what} failed: no complete answer within ${limits.totalTimeoutMs} ms`, {
        networkCode: "ETIMEDOUT",
        attempts: 1,
      });
    }
    const networkCode = isAxiosError(error) ? (error.code ?? "ERR_NETWORK") : "ERR_UNKNOWN";
    throw new AuthServerUnavailableError(`${what} failed: ${networkCode}`, { networkCode, attempts: 1 });
  } finally {
    limit.dispose();
  }
}

/** `429`, `408` and `5xx` are an unavailable server; anything else is an answer to read. */
export function isUnavailableStatus(status: number): boolean {
  return status === 429 || status === 408 || status >= 500;
}

export function unavailable(answer: Answer, what: string, now: number): AuthServerUnavailableError {
  const retryAfterSeconds = parseRetryAfter(answer.headers["retry-after"], now);
  return new AuthServerUnavailableError(`${what} failed: HTTP ${answer.status}`, {
    status: answer.status,
    attempts: 1,
    ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
  });
}

function parseJson(data: unknown): unknown {
  if (typeof data !== "string" || data === "") return undefined;
  try {
    return JSON.parse(data);
  } catch {
    return undefined;
  }
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
