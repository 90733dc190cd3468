// The one error handler an Express app needs for these packages. They refuse
// a request by passing an error to next(): an OAuthError from token-issuer's
// router, a BearerError from token-verifier's middleware. Each carries
// expose: true, its status, its headers (WWW-Authenticate, Cache-Control…)
// and toJSON(), the body the RFC asks for. Anything else is a bug or an
// outage: 500, and no detail for the caller.
export function renderError(error, req, res, next) {
  if (res.headersSent) return next(error);
  if (error?.expose !== true) {
    console.error(error);
    return res.status(500).json({ error: "server_error" });
  }
  res.status(error.status).set(error.headers ?? {});
  // express.json()'s refusals of a malformed body are exposable too, without toJSON()
  res.json(typeof error.toJSON === "function" ? error.toJSON() : { error: "invalid_request" });
}
