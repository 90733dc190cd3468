/**
 * The shape the error handler renders. Packages define their own error
 * classes (OAuth errors, RFC 6750 errors, domain errors) without depending on
 * this package: anything with `status`, `expose: true` and `toJSON()` is
 * rendered as it says. Anything else becomes a `500 server_error` with no
 * detail.
 */
export interface ExposableError {
  status: number;
  expose: true;
  headers?: Readonly<Record<string, string>>;
  toJSON(): Record<string, unknown>;
}

export function isExposableError(error: unknown): error is ExposableError {
  if (typeof error !== "object" || error === null) return false;
  const e = error as Partial<ExposableError>;
  return e.expose === true && typeof e.status === "number" && typeof e.toJSON === "function";
}

/** A plain HTTP error with an `error` code and an optional description. */
export class HttpError extends Error implements ExposableError {
  readonly expose = true as const;

  constructor(
    readonly status: number,
    readonly code: string,
    readonly description?: string,
    readonly headers?: Readonly<Record<string, string>>,
  ) {
    super(description ?? code);
    this.name = "HttpError";
  }

  toJSON(): Record<string, unknown> {
    return this.description === undefined
      ? { error: this.code }
      : { error: this.code, error_description: this.description };
  }
}

/** `400 invalid_request`, the answer to a body or parameter that is not as documented. */
export function invalidRequest(description: string): HttpError {
  return new HttpError(400, "invalid_request", description);
}
