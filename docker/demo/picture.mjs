// The `picture` service of docker-compose.yml: receives the three apps'
// spans over OTLP/HTTP (JSON, port 4318 on the Compose network) and serves
// the picture of every order placed in the stack on port 8080, drawn anew at
// each request. Open the URL it prints, and reload it after placing orders.
import { createServer } from "node:http";
import { startOtlpReceiver } from "./otlp-receiver.mjs";
import { renderRunPicture, scenesOf } from "./run-picture.mjs";

const PICTURE_URL = process.env.PICTURE_URL ?? "http://127.0.0.1:8080/";
// the last orders only: a stack left running must not grow without bound
const receiver = await startOtlpReceiver({ host: "0.0.0.0", port: 4318, maxSpans: 20_000 });

const server = createServer((req, res) => {
  if (req.method !== "GET" || (req.url !== "/" && req.url !== "/index.html")) {
    res.writeHead(404, { "content-type": "text/plain" }).end("the picture is at /\n");
    return;
  }
  const page = renderRunPicture({
    title: "The orders placed in this Compose stack, as the apps traced them",
    scenes: scenesOf(receiver.spans),
    generatedAt: new Date(),
  });
  res.writeHead(200, {
    "content-type": "text/html; charset=utf-8",
    "cache-control": "no-store",
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'",
  });
  res.end(page);
});
server.listen(8080, "0.0.0.0", () => {
  console.log(`picture: receiving the apps' spans on :4318; the run as a picture: ${PICTURE_URL}`);
});

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.once(signal, () => {
    server.close();
    void receiver.close().then(() => process.exit(0));
  });
}
