import express, { type NextFunction, type Request, type RequestHandler, type Response, type Router } from "express";
import { InvalidRequestError, type OAuthError } from "./errors.js";
import { isFormContentType, parseForm } from "./form.js";
import type { EndpointRequest, TokenIssuer } from "./token-issuer.js";

export interface OAuthRouterOptions {
  /** Largest accepted form body, bytes (default 8 KiB: room for an RSA client assertion). */
  bodyLimit?: number;
  /** Most form parameters accepted (default 32). */
  maxParameters?: number;
  /** `Cache-Control` max-age of the JWK Set, seconds (default 60; keep it below the key publish lead). */
  jwksMaxAge?: number;
}

/**
 * The authorization server's endpoints as an Express router:
 * `POST /token`, `POST /introspect`, `GET /.well-known/oauth-authorization-server`
 * and `GET /.well-known/jwks.json`. Errors are passed to `next` as
 * {@link OAuthError}s (status, headers, `toJSON()`), for the app's one
 * error handler to render.
 */
export function oauthRouter(issuer: TokenIssuer, options: OAuthRouterOptions = {}): Router {
  const router = express.Router();
  const form = formBody(options);
  const jwksMaxAge = options.jwksMaxAge ?? 60;

  // RFC 8414 §3.1: for an issuer with a path, the path goes after the well-known segment.
  // Behind a proxy that strips the issuer's path, clients that ask at the root find it too.
  const issuerPath = new URL(issuer.issuer).pathname.replace(/\/+$/, "");
  const metadataPaths = [...new Set([`/.well-known/oauth-authorization-server${issuerPath}`, "/.well-known/oauth-authorization-server"])];
  router.get(metadataPaths, (_req, res) => {
    res.set("Cache-Control", "public, max-age=60").json(issuer.metadata());
  });
  router.get("/.well-known/jwks.json", (_req, res) => {
    res.set("Cache-Control", `public, max-age=${jwksMaxAge}`).type("application/jwk-set+json").send(JSON.stringify(issuer.jwks()));
  });

  router.post("/token", noStore, form, endpoint((request) => issuer.token(request), issuer));
  router.post("/introspect", noStore, form, endpoint((request) => issuer.introspect(request)));
  router.all(["/token", "/introspect"], noStore, (_req, res, next) => {
    res.set("Allow", "POST");
    next(new InvalidRequestError("use POST", 405));
  });
  return router;
}

/** RFC 6749 §5.1, RFC 7662 §2.2: responses with credentials are never cached, errors included. */
const NO_STORE = Object.freeze({ "Cache-Control": "no-store", Pragma: "no-cache" });

const noStore: RequestHandler = (_req, res, next) => {
  res.set(NO_STORE);
  next();
};

const DEFAULT_BODY_LIMIT = 8192;

/**
 * Runs one endpoint of `issuer`. A request that sent a DPoP proof gets the
 * current server nonce with its answer, when nonces are required (RFC 9449
 * §8.2), so the client's next proof is made with a fresh one without a
 * `use_dpop_nonce` round trip.
 */
function endpoint(handle: (request: EndpointRequest) => Promise<object>, dpopNonces?: Pick<TokenIssuer, "dpopNonce">): RequestHandler {
  return (req, res, next) => {
    const dpop = headerFields(req.rawHeaders, "dpop");
    const request: EndpointRequest = {
      params: res.locals.form as Map<string, string>,
      remoteAddress: req.ip ?? req.socket.remoteAddress ?? "unknown",
      ...(req.headers.authorization !== undefined ? { authorization: req.headers.authorization } : {}),
      ...(dpop.length > 0 ? { dpop } : {}),
    };
    handle(request).then((body) => {
      const nonce = dpop.length > 0 ? dpopNonces?.dpopNonce() : undefined;
      if (nonce !== undefined) res.set("DPoP-Nonce", nonce);
      res.json(body);
    }, next);
  };
}

/**
 * Every field of one header, from Node's `rawHeaders`: `req.headers` joins
 * repeated fields of an unknown header with `, `, which would hide a second
 * `DPoP` header (RFC 9449 §4.3 check 1) inside one odd-looking value.
 */
function headerFields(rawHeaders: readonly string[], lowerCaseName: string): string[] {
  const fields: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() === lowerCaseName) fields.push(rawHeaders[i + 1]!);
  }
  return fields;
}

const CREDENTIAL_PARAMETERS = ["client_secret", "client_assertion", "token"];

/**
 * Strict `application/x-www-form-urlencoded` parsing into `res.locals.form`:
 * wrong media type, compressed, oversized, non-UTF-8 or malformed bodies and
 * repeated parameters are `invalid_request`; credentials in the URL too
 * (RFC 6749 §2.3.1: secrets only in the body or header).
 */
function formBody(options: Pick<OAuthRouterOptions, "bodyLimit" | "maxParameters"> = {}): RequestHandler {
  const raw = express.raw({ type: () => true, limit: options.bodyLimit ?? DEFAULT_BODY_LIMIT, inflate: false });
  return (req: Request, res: Response, next: NextFunction) => {
    const query = req.url.indexOf("?");
    if (query !== -1) {
      const inUrl = new URLSearchParams(req.url.slice(query + 1));
      if (CREDENTIAL_PARAMETERS.some((name) => inUrl.has(name))) {
        next(new InvalidRequestError("credentials and tokens must not be sent in the URL"));
        return;
      }
    }
    if (!isFormContentType(req.headers["content-type"])) {
      next(new InvalidRequestError("the body must be application/x-www-form-urlencoded"));
      return;
    }
    raw(req, res, (error?: unknown) => {
      if (error !== undefined) {
        next(fromBodyError(error));
        return;
      }
      try {
        const bytes: unknown = req.body;
        res.locals.form = Buffer.isBuffer(bytes) ? parseForm(decodeUtf8(bytes), options) : new Map<string, string>();
        next();
      } catch (parseError) {
        next(parseError);
      }
    });
  };
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new InvalidRequestError("the request body is malformed");
  }
}

function fromBodyError(error: unknown): OAuthError {
  const type = typeof error === "object" && error !== null && "type" in error ? (error as { type: unknown }).type : undefined;
  if (type === "entity.too.large") return new InvalidRequestError("the request body is too large", 413);
  if (type === "encoding.unsupported") return new InvalidRequestError("compressed request bodies are not accepted", 415);
  return new InvalidRequestError("the request body is malformed");
}
