// A small authorization server: POST /token (the client credentials grant),
// POST /introspect, its RFC 8414 metadata and its JWK Set.
import express from "express";
import { developmentRegistry, SigningKeys, systemClock, TokenIssuer } from "@m2m/token-issuer";
import { oauthRouter } from "@m2m/token-issuer/express";
import { renderError } from "./error-handler.mjs";

const port = Number(process.env.PORT ?? 4000);
const issuerUrl = process.env.ISSUER ?? `http://127.0.0.1:${port}`;

// Generated into the folder at the first start (manage: true), reused after.
const keys = await SigningKeys.open({ path: "./keys", alg: "ES256", tokenTtlSeconds: 300, manage: true, clock: systemClock });

const issuer = new TokenIssuer({
  issuer: issuerUrl,
  // order-service ("super-secret") may charge at payment-service, reporting-service
  // ("reporting-secret") may only read. Yours: new ClientRegistry(await loadRegistryFile("clients.json"))
  registry: developmentRegistry(),
  keys,
  accessTokenTtl: 300,
  onIssued: (event) => console.log("token.issued", event.clientId, event.claims.scope, event.dpop ? "DPoP" : "Bearer"),
  onRefused: (event) => console.log("token.refused", event.error.code),
});

const app = express();
app.use(oauthRouter(issuer)); // POST /token, POST /introspect, /.well-known/*
app.use(renderError); // refusals arrive as OAuthErrors: 400 invalid_scope, 401 invalid_client…
app.listen(port, "127.0.0.1", () => console.log(`issuer listening on ${issuerUrl}`));
