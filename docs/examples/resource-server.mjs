// A small resource server: POST /charge takes a token of the issuer, for this
// audience, with the scope charge:customer; anything less gets RFC 6750's answer.
import express from "express";
import { createDPoPVerifier, createVerifier } from "@m2m/token-verifier";
import { accessTokenClaims, requireAccessToken } from "@m2m/token-verifier/express";
import { renderError } from "./error-handler.mjs";

const port = Number(process.env.PORT ?? 4002);

const verifier = createVerifier({
  issuer: process.env.ISSUER ?? "http://127.0.0.1:4000", // the only iss accepted; its keys come from its metadata
  audience: "payment-service", // the only aud accepted
  onJwksLoaded: ({ kids }) => console.log("jwks.loaded", kids.join(" ")),
});

// Bearer tokens as RFC 6750 has them, and DPoP-bound ones (RFC 9449) only with a proof of their key.
const dpop = createDPoPVerifier({ mode: "allowed" });

const app = express();
app.post(
  "/charge",
  requireAccessToken(verifier, {
    realm: "payment-service",
    scope: "charge:customer",
    dpop,
    onVerified: ({ token, dpop: proof }) => console.log("token.verified", token.claims.client_id, proof ? "DPoP" : "Bearer"),
    onRejected: ({ error }) => console.log("token.rejected", error.status, error.code),
  }),
  express.json(), // after the token check: a refused request costs no parsing
  (req, res) => {
    const { client_id } = accessTokenClaims(res); // the verified token's claims
    res.status(201).json({ amount: req.body.amount, currency: req.body.currency, charged_by: client_id });
  },
);
app.use(renderError); // 401 and 400 with WWW-Authenticate, 403 insufficient_scope, 503 while the issuer's keys are unknown
app.listen(port, "127.0.0.1", () => console.log(`resource server listening on http://127.0.0.1:${port}`));
