import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger, fingerprint } from "./logger.js";

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).trim().split("\n"));
      done();
    },
  });
  return { lines, destination };
}

describe("createLogger", () => {
  it("writes one JSON object per line with the service name", () => {
    const { lines, destination } = capture();
    createLogger({ service: "auth-server", destination }).info({ client_id: "a" }, "token.issued");
    const line = JSON.parse(lines[0]!);
    expect(line).toMatchObject({ service: "auth-server", msg: "token.issued", client_id: "a", level: "info" });
  });

  it("redacts credentials wherever they appear", () => {
    const { lines, destination } = capture();
    createLogger({ service: "x", destination }).info(
      {
        client_secret: "s1",
        body: { client_secret: "s2", access_token: "t1", client_assertion: "a1" },
        params: { client_secret: "s3" },
        access_token: "t2",
        req: { headers: { authorization: "Basic xyz" } },
      },
      "event",
    );
    expect(lines.join("\n")).not.toMatch(/s1|s2|s3|t1|t2|a1|Basic xyz/);
  });
});

describe("fingerprint", () => {
  it("is stable, short and does not contain the credential", () => {
    const token = "eyJhbGciOiJSUzI1NiJ9.payload.signature";
    expect(fingerprint(token)).toBe(fingerprint(token));
    expect(fingerprint(token)).toMatch(/^sha256:[0-9a-f]{12}$/);
    expect(fingerprint(token)).not.toContain("payload");
  });
});
