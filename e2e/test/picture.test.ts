import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import puppeteer, { type Browser } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../../scripts/stack.mjs";

/**
 * `npm run demo`'s picture of the run, opened in a real headless browser:
 * Debian's `chromium` (.ci/run installs it), driven by puppeteer-core. The
 * screenshot is kept in e2e/artifacts/ for a person to look at.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ARTIFACTS = join(ROOT, "e2e", "artifacts");
const PAGE = join(ARTIFACTS, "demo-run.html");

let browser: Browser;
let profile: string;
let demoOutput = "";

/** Runs the demo as `npm run demo` does (the apps already built), writing its picture to {@link PAGE}. */
function runDemo(): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, "scripts", "demo.mjs"), "--picture", PAGE], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.on("data", (chunk: Buffer) => (demoOutput += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (demoOutput += chunk.toString()));
    child.once("exit", resolve);
  });
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: install Debian's chromium (apt-get install chromium), as .ci/run does, or set CHROMIUM_PATH`);
  mkdirSync(ARTIFACTS, { recursive: true });
  rmSync(PAGE, { force: true });
  expect(await runDemo(), demoOutput).toBe(0);
  profile = mkdtempSync(join(tmpdir(), "m2m-chromium-"));
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: profile,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"],
  });
}, 180_000);
afterAll(async () => {
  await browser?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

describe("the demo's picture of the run", () => {
  it("is printed by the demo, and shows the five steps, the token's claims, the cached order and the refusal, fetching nothing", async () => {
    expect(demoOutput).toContain(pathToFileURL(PAGE).href);
    const page = await browser.newPage();
    const requested: string[] = [];
    page.on("request", (request) => requested.push(request.url()));
    await page.setViewport({ width: 1280, height: 900 });
    await page.goto(pathToFileURL(PAGE).href, { waitUntil: "load" });
    await page.screenshot({ path: join(ARTIFACTS, "demo-run.png"), fullPage: true });

    // runs in the page: `document` is the browser's, which this project's types (Node's) do not declare
    const text = await page.$eval("body", (body) => (body as unknown as { innerText: string }).innerText);
    for (const step of ["token request", "checks at auth-server", "the signed token", "the call with the token", "checks at payment-service"]) expect(text).toContain(step);
    // the diagram numbers each of the five steps
    const badges = await page.$$eval("svg text.stepnum", (nodes) => nodes.map((node) => node.textContent));
    expect(new Set(badges)).toEqual(new Set(["1", "2", "3", "4", "5"]));
    expect(text).toContain("Order 1: the first order needs a token");
    expect(text).toContain('"sub": "order-service"');
    expect(text).toContain('"aud": "payment-service"');
    expect(text).toContain("secret matches");
    expect(text).toContain("token cache: hit");
    expect(text).toContain("refused: insufficient_scope");
    // one file, nothing else: no stylesheet, script, font or image fetched
    expect(requested).toEqual([pathToFileURL(PAGE).href]);
    expect(readFileSync(PAGE, "utf8")).not.toMatch(/(src|href)=["']?https?:/);
  });
});
