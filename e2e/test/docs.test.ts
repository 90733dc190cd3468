import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ROOT } from "../../scripts/stack.mjs";

// The documentation stays inside the repository and stays true to it: every
// link resolves to a file (and heading) that exists here, nothing points to
// the web but loopback examples, nothing cites a contract file kept outside,
// and the README opens with a table of contents that matches its sections.

/** Folders that hold no documentation of ours. */
const SKIPPED = new Set(["node_modules", "dist", ".turbo", ".git", "data", "peers", ".stryker-tmp", "reports"]);
const THIS_FILE = relative(ROOT, fileURLToPath(import.meta.url));

function filesUnder(dir: string, keep: (name: string) => boolean): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIPPED.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...filesUnder(path, keep));
    else if (entry.isFile() && keep(entry.name)) files.push(path);
  }
  return files;
}

const MARKDOWN = filesUnder(ROOT, (name) => name.endsWith(".md")).map((file) => relative(ROOT, file));

/** A Markdown file split into what a reader sees as text and what is code (fenced blocks and code spans). */
interface Parsed {
  /** Text outside code, code spans replaced by `CODE`, line by line. */
  text: string[];
  /** The contents of fenced blocks and code spans. */
  code: string[];
  /** Headings outside fenced blocks: level, text as rendered, and GitHub's anchor. */
  headings: { level: number; title: string; anchor: string }[];
}

const parsedFiles = new Map<string, Parsed>();

function parse(file: string): Parsed {
  const known = parsedFiles.get(file);
  if (known) return known;
  const code: string[] = [];
  const prose: string[] = [];
  let fence: string | undefined;
  for (const line of readFileSync(join(ROOT, file), "utf8").split("\n")) {
    const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence === undefined && marker !== undefined) {
      fence = marker;
      prose.push("");
    } else if (fence !== undefined) {
      if (marker !== undefined && marker[0] === fence[0] && marker.length >= fence.length && line.trim() === marker) fence = undefined;
      else code.push(line);
      prose.push("");
    } else {
      prose.push(line);
    }
  }
  // code spans may wrap a line, never a paragraph
  const joined = prose.join("\n").replace(/(`+)((?:(?!\n\s*\n)[\s\S])*?)\1(?!`)/g, (_span, _ticks: string, content: string) => {
    code.push(content);
    return "CODE".padEnd(Math.max(4, content.split("\n")[0]!.length), " ") + "\n".repeat(content.split("\n").length - 1);
  });
  const text = joined.split("\n");
  const seen = new Map<string, number>();
  const headings: Parsed["headings"] = [];
  const raw = prose.join("\n").split("\n");
  raw.forEach((line, index) => {
    const match = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(text[index] ?? "");
    if (!match) return;
    const title = rendered(/^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)![1]!);
    const base = slug(title);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    headings.push({ level: match[1]!.length, title, anchor: count === 0 ? base : `${base}-${count}` });
  });
  const parsed = { text, code, headings };
  parsedFiles.set(file, parsed);
  return parsed;
}

/** A heading's text as GitHub renders it: no backticks, emphasis or link syntax. */
function rendered(markdown: string): string {
  return markdown
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/`/g, "")
    .replace(/(\*\*|__|\*|_)(\S(?:.*?\S)?)\1/g, "$2")
    .trim();
}

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
function slug(title: string): string {
  return title
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M}\p{Pc}\- ]/gu, "")
    .replace(/ /g, "-");
}

/** Every link target written in text: inline links and images, reference definitions, autolinks, HTML attributes. */
function linkTargets(parsed: Parsed): string[] {
  const text = parsed.text.join("\n");
  const targets: string[] = [];
  for (const match of text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/g)) targets.push(match[1]!);
  for (const match of text.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)) targets.push(match[1]!);
  for (const match of text.matchAll(/<([a-z][a-z0-9+.-]*:[^\s>]+)>/gi)) targets.push(match[1]!);
  for (const match of text.matchAll(/\b(?:href|src)\s*=\s*["']([^"']+)["']/gi)) targets.push(match[1]!);
  return targets;
}

const URL_PATTERN = /\bhttps?:\/\/[^\s<>()[\]`"'|]+/gi;

function isLoopback(host: string): boolean {
  return host === "localhost" || host.endsWith(".localhost") || /^127(\.\d{1,3}){3}$/.test(host) || host === "[::1]";
}

/**
 * Names that can never reach a host outside: the special-use domains of
 * RFC 2606 and RFC 6761, `.internal`, and single-label names (a Compose
 * service such as `auth-server`). Code may name them, as identifiers or as
 * addresses inside a private network; text may not link to them.
 */
function isReservedName(host: string): boolean {
  return (
    !host.includes(".") ||
    /\.(example|test|invalid|internal)$/.test(host) ||
    /(^|\.)example\.(com|net|org)$/.test(host)
  );
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
}

/** What is wrong with one file's links and URLs, one line per problem. */
function linkProblems(file: string): string[] {
  const parsed = parse(file);
  const problems: string[] = [];
  for (const target of linkTargets(parsed)) {
    if (target === "") {
      problems.push(`${file}: an empty link`);
      continue;
    }
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(target)?.[1]?.toLowerCase();
    if (scheme !== undefined) {
      const host = hostOf(target);
      if ((scheme !== "http" && scheme !== "https") || host === undefined || !isLoopback(host)) {
        problems.push(`${file}: links outside the repository: ${target}`);
      }
      continue;
    }
    const [pathPart, fragment] = target.split("#", 2) as [string, string | undefined];
    const path = decodeURIComponent(pathPart.split("?")[0]!);
    const absolute = path === "" ? join(ROOT, file) : path.startsWith("/") ? join(ROOT, path) : resolve(ROOT, dirname(file), path);
    if (absolute !== ROOT && !absolute.startsWith(ROOT + sep)) {
      problems.push(`${file}: links outside the repository: ${target}`);
      continue;
    }
    if (!existsSync(absolute)) {
      problems.push(`${file}: links to a file that does not exist: ${target}`);
      continue;
    }
    if (fragment !== undefined && statSync(absolute).isFile() && absolute.endsWith(".md")) {
      const anchors = parse(relative(ROOT, absolute)).headings.map((heading) => heading.anchor);
      if (!anchors.includes(fragment.toLowerCase())) problems.push(`${file}: links to a heading that does not exist: ${target}`);
    }
  }
  for (const line of parsed.text) {
    for (const [url] of line.matchAll(URL_PATTERN)) {
      const host = hostOf(url);
      if (host === undefined || !isLoopback(host)) problems.push(`${file}: a URL in the text that leaves the machine: ${url}`);
    }
  }
  for (const block of parsed.code) {
    for (const [match] of block.matchAll(URL_PATTERN)) {
      // in a template literal, the URL ends where a substitution starts: `http://127.0.0.1:${port}`
      const url = match.split("${", 1)[0]!;
      const host = hostOf(url);
      if (host === undefined || !(isLoopback(host) || isReservedName(host))) problems.push(`${file}: a URL in code that leaves the repository: ${url}`);
    }
  }
  return problems;
}

/** The wire contract lives in docs/wire-contract.md; nothing may point to a copy kept beside the repository. */
const OUTSIDE_CONTRACT = [/(?<![\w-])contract\.md/i, /\.\.\/shared\b/];

function outsideMentions(file: string): string[] {
  const content = readFileSync(join(ROOT, file), "utf8");
  if (content.includes("\0")) return [];
  return content
    .split("\n")
    .flatMap((line, index) => (OUTSIDE_CONTRACT.some((pattern) => pattern.test(line)) ? [`${file}:${index + 1}: ${line.trim()}`] : []));
}

describe("the documentation", () => {
  it("finds the Markdown files it checks", () => {
    expect(MARKDOWN).toContain("README.md");
    expect(MARKDOWN).toContain(join("docs", "wire-contract.md"));
  });

  it.each(MARKDOWN)("%s links only to files and headings inside the repository, and to no web address but loopback examples", (file) => {
    expect(linkProblems(file)).toEqual([]);
  });

  it("never cites a contract file or a shared folder outside the repository, in docs, code, comments or tests", () => {
    const sources = filesUnder(ROOT, (name) => /\.(md|ts|mts|cts|js|mjs|cjs|json|ya?ml|sh)$|^Dockerfile$|^run$/.test(name))
      .map((file) => relative(ROOT, file))
      .filter((file) => file !== THIS_FILE);
    expect(sources.flatMap(outsideMentions)).toEqual([]);
  });
});

/**
 * Fenced blocks that say, on the line just before, which file they show:
 * `<!-- quoted from docs/examples/client.mjs -->` for the whole file,
 * `<!-- excerpt from … -->` for lines of it, in a row. The path is from the
 * repository's root.
 */
function quotations(file: string): { kind: "quoted" | "excerpt"; source: string; block: string; line: number }[] {
  const lines = readFileSync(join(ROOT, file), "utf8").split("\n");
  const found: { kind: "quoted" | "excerpt"; source: string; block: string; line: number }[] = [];
  lines.forEach((line, index) => {
    const marker = /^<!-- (quoted|excerpt) from (\S+) -->$/.exec(line.trim());
    if (!marker) return;
    const fence = /^(`{3,})\w*$/.exec(lines[index + 1] ?? "")?.[1];
    const close = fence === undefined ? -1 : lines.findIndex((candidate, at) => at > index + 1 && candidate === fence);
    found.push({
      kind: marker[1] as "quoted" | "excerpt",
      source: marker[2]!,
      block: close === -1 ? "" : lines.slice(index + 2, close).join("\n"),
      line: index + 1,
    });
  });
  return found;
}

const EXAMPLES = readdirSync(join(ROOT, "docs", "examples"))
  .filter((name) => name.endsWith(".mjs"))
  .map((name) => join("docs", "examples", name));

describe("the code the documentation quotes", () => {
  it.each(MARKDOWN)("%s shows the files it quotes exactly as they are", (file) => {
    const problems = quotations(file).flatMap(({ kind, source, block, line }) => {
      const where = `${file}:${line}: ${source}`;
      if (block === "") return [`${where}: no fenced block right after the marker`];
      if (!existsSync(join(ROOT, source))) return [`${where}: no such file`];
      const content = readFileSync(join(ROOT, source), "utf8").replace(/\n$/, "");
      if (kind === "quoted") return block === content ? [] : [`${where}: the block is not the file as it is`];
      return `\n${content}\n`.includes(`\n${block}\n`) ? [] : [`${where}: the block is not lines of the file, in a row`];
    });
    expect(problems).toEqual([]);
  });

  it("shows no code in the README or a package's README that is not quoted from a file that runs", () => {
    const readmes = MARKDOWN.filter((file) => file === "README.md" || (file.startsWith(`packages${sep}`) && file.endsWith(`${sep}README.md`)));
    const unquoted = readmes.flatMap((file) => {
      const lines = readFileSync(join(ROOT, file), "utf8").split("\n");
      return lines.flatMap((line, index) =>
        /^```(js|mjs|ts|javascript|typescript)\s*$/.test(line) && !/^<!-- (quoted|excerpt) from \S+ -->$/.test(lines[index - 1]?.trim() ?? "")
          ? [`${file}:${index + 1}`]
          : [],
      );
    });
    expect(unquoted).toEqual([]);
  });

  it("quotes each example of docs/examples whole, in the README of a package it uses", () => {
    const quotedWhole = new Set(
      MARKDOWN.filter((file) => file.startsWith(`packages${sep}`)).flatMap((file) =>
        quotations(file).flatMap(({ kind, source }) => (kind === "quoted" ? [join(source)] : [])),
      ),
    );
    expect(EXAMPLES.length).toBeGreaterThanOrEqual(4);
    expect(EXAMPLES.filter((example) => !quotedWhole.has(example))).toEqual([]);
  });
});

/** The scripts of a workspace's package.json (the root's when `workspace` is undefined). */
function scriptsOf(workspace: string | undefined): string[] {
  const file = join(ROOT, workspace ?? "", "package.json");
  if (!existsSync(file)) return [];
  return Object.keys((JSON.parse(readFileSync(file, "utf8")) as { scripts?: Record<string, string> }).scripts ?? {});
}

/** Whether `script` exists in `workspace`; a placeholder such as `apps/<name>` stands for every folder there. */
function hasScript(script: string, workspace: string | undefined): boolean {
  const placeholder = workspace === undefined ? -1 : workspace.search(/<[^>]+>/);
  if (placeholder === -1) return scriptsOf(workspace).includes(script);
  const parent = workspace!.slice(0, placeholder);
  const folders = readdirSync(join(ROOT, parent), { withFileTypes: true }).filter((entry) => entry.isDirectory());
  return folders.length > 0 && folders.every((folder) => scriptsOf(join(parent, folder.name)).includes(script));
}

/** Every `npm run X`, `npm start`, `npm test` written in code, with the workspace it names. */
function npmCommands(parsed: Parsed): { command: string; script: string; workspace: string | undefined }[] {
  const found: { command: string; script: string; workspace: string | undefined }[] = [];
  for (const block of parsed.code) {
    for (const match of block.matchAll(/\bnpm (run|start|test)\b([^\n|`;&]*)/g)) {
      const words = match[2]!.trim().split(/\s+/).filter((word) => word !== "");
      const own = words.includes("--") ? words.slice(0, words.indexOf("--")) : words;
      const workspaceAt = own.findIndex((word) => word === "-w" || word === "--workspace");
      const workspace = workspaceAt === -1 ? own.find((word) => word.startsWith("--workspace="))?.slice(12) : own[workspaceAt + 1];
      const script = match[1] === "run" ? own.find((word, index) => !word.startsWith("-") && own[index - 1] !== "-w" && own[index - 1] !== "--workspace") : match[1];
      if (script !== undefined) found.push({ command: match[0].trim(), script, workspace });
    }
  }
  return found;
}

describe("the commands in the documentation", () => {
  it.each(MARKDOWN)("%s runs only npm scripts that exist", (file) => {
    const missing = npmCommands(parse(file))
      .filter(({ script, workspace }) => !hasScript(script, workspace))
      .map(({ command }) => `${file}: ${command}`);
    expect(missing).toEqual([]);
  });
});

describe("the README", () => {
  const readme = parse("README.md");
  const lines = readFileSync(join(ROOT, "README.md"), "utf8").split("\n");

  it("opens with its title, then at once its table of contents", () => {
    const [title, contents] = readme.headings;
    expect(title?.level).toBe(1);
    expect(lines[0]).toMatch(/^# /);
    expect(contents).toMatchObject({ level: 2 });
    expect(contents!.title).toMatch(/^(table of )?contents$/i);
    const firstAfterTitle = lines.slice(1).find((line) => line.trim() !== "");
    expect(firstAfterTitle).toBe(`## ${contents!.title}`);
  });

  it("lists every section in its table of contents, in order, each linked to its heading", () => {
    const start = lines.findIndex((line) => /^## (table of )?contents$/i.test(line));
    const end = lines.findIndex((line, index) => index > start && /^#{1,2} /.test(line));
    const entries = lines
      .slice(start + 1, end)
      .flatMap((line) => {
        const entry = /^(\s*)[-*]\s+\[([^\]]+)\]\(#([^)]+)\)\s*$/.exec(line);
        return entry ? [{ nested: entry[1]!.length > 0, title: rendered(entry[2]!), anchor: entry[3]! }] : [];
      });
    const sections = readme.headings.filter((heading) => heading.level === 2).slice(1);
    expect(entries.filter((entry) => !entry.nested).map(({ title, anchor }) => ({ title, anchor }))).toEqual(
      sections.map(({ title, anchor }) => ({ title, anchor })),
    );
    const anchors = readme.headings.map((heading) => heading.anchor);
    expect(entries.filter((entry) => !anchors.includes(entry.anchor))).toEqual([]);
    // the table of contents is all there is before the first section
    expect(lines.slice(start + 1, end).filter((line) => line.trim() !== "" && !/^\s*[-*]\s+\[/.test(line))).toEqual([]);
  });

  it("gives every row of each \"Where each check is made\" table the code that makes the check and a test that proves it", () => {
    const start = lines.indexOf("## Where each check is made");
    const end = lines.findIndex((line, index) => index > start && /^## /.test(line));
    expect(start).toBeGreaterThan(0);
    const tables = new Map<string, string[]>();
    let heading = "";
    for (const line of lines.slice(start, end)) {
      if (line.startsWith("### ")) heading = line.slice(4);
      else if (/^\| /.test(line) && !/^\| (check|behaviour) \|/.test(line) && !/^\| -/.test(line)) tables.set(heading, [...(tables.get(heading) ?? []), line]);
    }
    expect([...tables.keys()]).toEqual(["Step 2, at the authorization server", "Step 5, at the resource server", "Steps 1 and 4, at the client"]);
    const incomplete = [...tables.values()]
      .flat()
      .filter((row) => codeReferences(row).length === 0 || testReferences(row).length === 0)
      .map((row) => row.slice(0, 100));
    expect(incomplete).toEqual([]);
    for (const rows of tables.values()) expect(rows.length).toBeGreaterThanOrEqual(10);
  });

  it("names, in \"Where each check is made\", functions and test titles that exist in the files it links", () => {
    const start = lines.indexOf("## Where each check is made");
    const end = lines.findIndex((line, index) => index > start && /^## /.test(line));
    const section = lines.slice(start, end).join("\n").replace(/\s*\n\s*/g, " ");
    expect(referenceProblems("README.md", section)).toEqual([]);
    expect(codeReferences(section).length).toBeGreaterThan(40);
    expect(testReferences(section).length).toBeGreaterThan(40);
  });
});

describe("where the tests are, as the README says", () => {
  const packages = readdirSync(join(ROOT, "packages"), { withFileTypes: true }).filter((entry) => entry.isDirectory());
  const filesOf = (name: string) => filesUnder(join(ROOT, "packages", name), () => true).map((file) => relative(ROOT, file));

  it("keeps every unit test of a package in its src/, beside the module it tests", () => {
    const elsewhere = packages.flatMap(({ name }) => filesOf(name).filter((file) => /\.test\.[cm]?[jt]s$/.test(file) && !file.startsWith(join("packages", name, "src") + sep)));
    expect(elsewhere).toEqual([]);
    expect(parse("README.md").text.join("\n")).toContain("beside the module");
  });

  it("keeps test support in src/testing/, which no module of the package itself imports", () => {
    const offenders = packages.flatMap(({ name }) =>
      filesOf(name)
        .filter((file) => file.startsWith(join("packages", name, "src") + sep) && /\.ts$/.test(file) && !/\.test\.ts$/.test(file))
        .filter((file) => !file.includes(`${sep}testing${sep}`))
        .filter((file) => /from\s+["'](?:\.\/|\.\.\/)+testing\//.test(readFileSync(join(ROOT, file), "utf8"))),
    );
    expect(offenders).toEqual([]);
  });
});

describe("the life of a request", () => {
  const file = join("docs", "life-of-a-request.md");

  it("is linked from the README", () => {
    expect(linkTargets(parse("README.md"))).toContain(file);
  });

  it("names, at each hop, functions and files that exist", () => {
    const text = readFileSync(join(ROOT, file), "utf8").replace(/\s*\n\s*/g, " ");
    expect(referenceProblems(file, text)).toEqual([]);
    expect(codeReferences(text).length).toBeGreaterThan(15);
  });

  it("draws POST /token and POST /charge, each as one Mermaid diagram", () => {
    const content = readFileSync(join(ROOT, file), "utf8");
    const diagrams = [...content.matchAll(/^```mermaid\n([\s\S]*?)^```$/gm)].map((match) => match[1]!);
    expect(diagrams).toHaveLength(2);
    expect(diagrams[0]).toContain("POST /token");
    expect(diagrams[1]).toContain("POST /charge");
  });
});

/** `[file](path) · `name`` (or `` `a`, `b` ``): functions, classes and methods named in a file that a link points to. */
function codeReferences(text: string): { path: string; name: string }[] {
  return [...text.matchAll(/\]\(([^)#\s]+\.(?:ts|mjs))\) · ((?:`[\w.#]+`(?:, )?)+)/g)].flatMap(([, path, names]) =>
    [...names!.matchAll(/`([\w.#]+)`/g)].map(([, name]) => ({ path: path!, name: name! })),
  );
}

/** `[file](path.test.ts) › "title"`: tests named in a test file that a link points to. */
function testReferences(text: string): { path: string; title: string }[] {
  return [...text.matchAll(/\]\(([^)#\s]+\.test\.ts)\) › "([^"]+)"/g)].map(([, path, title]) => ({ path: path!, title: title! }));
}

/**
 * Whether `source` declares `name`: a function, class, constant, type, or a
 * method or property of a class (`#private` ones included), not merely
 * mentions it in a comment.
 */
function declares(source: string, name: string): boolean {
  const id = name.replace(/[$#]/g, "\\$&");
  return (
    new RegExp(`\\b(?:function\\*?|class|const|let|var|interface|type|enum)\\s+${id}(?![\\w$])`).test(source) ||
    new RegExp(`^\\s*(?:(?:export|public|private|protected|static|async|readonly|override|get|set)\\s+)*\\*?${id}\\s*(?:<[^>]*>)?\\s*[(=:]`, "m").test(source)
  );
}

/** What is wrong with the functions and tests that `text`, from `file`, names in the files it links to. */
function referenceProblems(file: string, text: string): string[] {
  const read = (path: string) => {
    const absolute = resolve(ROOT, dirname(file), path);
    return existsSync(absolute) ? readFileSync(absolute, "utf8") : "";
  };
  const problems: string[] = [];
  for (const { path, name } of codeReferences(text)) {
    const source = read(path);
    const parts = name.split(".");
    // `Class.method`: the class and its member; a bare name: a declaration of it
    if (!parts.every((part) => declares(source, part))) problems.push(`${path}: declares no ${name}`);
  }
  for (const { path, title } of testReferences(text)) {
    if (!read(path).includes(title.replace(/^…: /, ""))) problems.push(`${path}: no test "${title}"`);
  }
  return problems;
}
