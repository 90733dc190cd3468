/**
 * `node bench/dist/profile-summary.js <file.cpuprofile> [top]`: where a V8
 * CPU profile (from `npm run bench -- --profile=DIR`) spends its time, as
 * self time by function and by package, without opening DevTools.
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function main(): void {
  const [file, topArg] = process.argv.slice(2);
  if (!file) {
    console.error("usage: node dist/profile-summary.js <file.cpuprofile> [top]");
    process.exitCode = 2;
    return;
  }
  const top = Number(topArg ?? "25");
  const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  // percentages of busy time: a bench server idles while the others take their turn
  const self = new Map<number, number>();
  let total = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    if (byId.get(id)?.callFrame.functionName === "(idle)") {
      idle += dt;
      return;
    }
    self.set(id, (self.get(id) ?? 0) + dt);
    total += dt;
  });

  const fnSelf = new Map<string, number>();
  const pkgSelf = new Map<string, number>();
  const fnTotal = new Map<string, number>();
  for (const [id, t] of self) {
    const node = byId.get(id)!;
    const key = label(node);
    fnSelf.set(key, (fnSelf.get(key) ?? 0) + t);
    const pkg = packageOf(node.callFrame.url, node.callFrame.functionName);
    pkgSelf.set(pkg, (pkgSelf.get(pkg) ?? 0) + t);
    // inclusive time: charge every distinct frame on the stack once
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const k = label(byId.get(cur)!);
      if (seen.has(k)) continue;
      seen.add(k);
      fnTotal.set(k, (fnTotal.get(k) ?? 0) + t);
    }
  }
  const pct = (t: number) => `${((100 * t) / total).toFixed(1).padStart(5)}%`;
  const print = (title: string, map: Map<string, number>) => {
    console.log(`\n${title}`);
    for (const [k, t] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(t)}  ${k}`);
  };
  console.log(`${file}: ${(total / 1e6).toFixed(1)} s busy, ${(idle / 1e6).toFixed(1)} s idle; percentages of busy time`);
  print("self time by package", pkgSelf);
  print("self time by function", fnSelf);
  print("inclusive time by function", fnTotal);
}

function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url ? `${shorten(url)}:${lineNumber + 1}` : "";
  return `${functionName || "(anonymous)"} ${where}`.trim();
}

function shorten(url: string): string {
  const i = url.lastIndexOf("node_modules/");
  if (i !== -1) return url.slice(i + "node_modules/".length);
  const m = /\/(apps|packages|bench)\/(.*)$/.exec(url);
  return m ? `${m[1]}/${m[2]}` : url.replace(/^file:\/\//, "");
}

function packageOf(url: string, fn: string): string {
  if (!url) return fn.startsWith("(") ? fn : "(native)";
  if (url.startsWith("node:")) return "node internals";
  const i = url.lastIndexOf("node_modules/");
  if (i !== -1) {
    const rest = url.slice(i + "node_modules/".length).split("/");
    return rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const m = /\/(apps|packages)\/([^/]+)\//.exec(url);
  return m ? `${m[1]}/${m[2]}` : url;
}

main();
