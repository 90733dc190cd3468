// A small client: an axios instance that carries an access token for
// payment-service, fetched once, cached, refreshed ahead, and replaced once
// if the resource server says it is no longer good.
import axios from "axios";
import { clientSecretBasic, generateDPoPKey, TokenClient, withBearerToken } from "@m2m/token-client";

const tokens = new TokenClient({
  issuer: process.env.ISSUER ?? "http://127.0.0.1:4000", // its metadata must name exactly this issuer
  clientId: process.env.CLIENT_ID ?? "order-service",
  clientAuth: clientSecretBasic(process.env.CLIENT_SECRET ?? "super-secret"), // or clientSecretPost, privateKeyJwt
  // DPOP=true: tokens bound to a key pair of this process (RFC 9449), a new proof with every request
  dpop: process.env.DPOP === "true" ? await generateDPoPKey() : undefined,
  onFetched: (event) => console.log("token.fetched", event.tokenFingerprint, event.expiresIn, event.dpop ? "DPoP" : "Bearer"),
});

const payments = axios.create({ baseURL: process.env.PAYMENT_SERVICE_URL ?? "http://127.0.0.1:4002" });
withBearerToken(payments, tokens, { audience: "payment-service", scope: process.env.SCOPE ?? "charge:customer" });

try {
  const charge = await payments.post("/charge", { amount: 1299, currency: "EUR" });
  console.log("charged", charge.status, JSON.stringify(charge.data));
} catch (error) {
  if (!axios.isAxiosError(error) || error.response === undefined) throw error; // TokenRequestError, AuthServerUnavailableError…
  const { status, headers, data } = error.response;
  console.log("refused", status, headers["www-authenticate"], JSON.stringify(data));
  process.exitCode = 1;
}
