// The picture of a run: one self-contained HTML page (inline CSS and SVG, no
// script, nothing fetched) drawn from the spans the three apps exported. Each
// scene is one trace: a sequence diagram of who called whom, in order, with
// timings and the five steps of the flow numbered; the token's decoded header
// and claims; the checks each side made; and why a request was refused.
// Used by `npm run demo` (written to a file) and the Docker `picture` service.

/** @typedef {import("./otlp-receiver.mjs").ReceivedSpan} Span */
/** @typedef {{ title: string, note?: string, spans: Span[] }} Scene */

/** The lifelines, left to right: whoever called from outside, then the apps in the order the flow visits them. */
const LANES = ["caller", "order-service", "auth-server", "payment-service"];
const LANE_TITLES = { caller: "caller", "order-service": "order-service (client)", "auth-server": "auth-server", "payment-service": "payment-service (RS)" };
const LANE_COLOURS = { caller: "#6b7280", "order-service": "#0e7490", "auth-server": "#7c3aed", "payment-service": "#b45309" };

/** @param {unknown} text */
const escape = (text) =>
  String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c);
/** @param {number} ms */
const duration = (ms) => (ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`);

/**
 * The scenes worth drawing among all spans received: one per trace that a
 * request from outside started (not the apps' own key fetches), in order.
 * @param {Span[]} spans
 * @returns {Scene[]}
 */
export function scenesOf(spans) {
  /** @type {Map<string, Span[]>} */
  const traces = new Map();
  for (const span of spans) traces.set(span.traceId, [...(traces.get(span.traceId) ?? []), span]);
  return [...traces.values()]
    .map((trace) => trace.sort((a, b) => a.startMs - b.startMs))
    .filter((trace) => trace.some((span) => span.kind === "server" && !span.name.startsWith("GET")))
    .sort((a, b) => (a[0]?.startMs ?? 0) - (b[0]?.startMs ?? 0))
    .map((trace) => ({ title: titleOf(trace), spans: trace }));
}

/** @param {Span[]} trace */
function titleOf(trace) {
  const first = trace.find((span) => span.kind === "server");
  const lookup = trace.find((span) => span.name === "TokenClient.getToken");
  const refused = trace.find((span) => span.attributes["oauth.error"] !== undefined);
  const what = first ? `${first.name} at ${first.service}` : "a request";
  if (refused) return `${what}: refused (${refused.attributes["oauth.error"]})`;
  if (lookup) return `${what}: token cache ${lookup.attributes["oauth.token.cache"]}`;
  return what;
}

/**
 * The rows of a sequence diagram, in the order things happened: walking the
 * span tree depth first, children by start time, a server span is a request
 * arrow, then whatever it caused, then its answer; a span inside an app is a
 * note. Causality, not the clocks, orders the rows, so spans started within
 * the same millisecond (or on hosts whose clocks differ) still read right.
 * @param {Span[]} spans
 */
function rowsOf(spans) {
  const ids = new Set(spans.map((span) => span.spanId));
  /** @type {Map<string | undefined, Span[]>} */
  const children = new Map();
  for (const span of spans) {
    const parent = span.parentSpanId !== undefined && ids.has(span.parentSpanId) ? span.parentSpanId : undefined;
    children.set(parent, [...(children.get(parent) ?? []), span]);
  }
  const byId = new Map(spans.map((span) => [span.spanId, span]));
  /** @type {{ kind: "call" | "answer" | "note", from: string, to: string, label: string, detail?: string, step?: number, error?: boolean }[]} */
  const rows = [];
  /** @param {Span} span */
  const visit = (span) => {
    const parent = span.parentSpanId ? byId.get(span.parentSpanId) : undefined;
    const inner = () => (children.get(span.spanId) ?? []).sort((a, b) => a.startMs - b.startMs).forEach(visit);
    if (span.kind === "server") {
      const from = parent?.service ?? "caller";
      const status = Number(span.attributes["http.response.status_code"] ?? 0);
      const step = span.name === "POST /token" ? 1 : span.name === "POST /charge" ? 4 : undefined;
      const issued = step === 1 && status === 200;
      rows.push({ kind: "call", from, to: span.service, label: span.name, step });
      inner();
      rows.push({
        kind: "answer",
        from: span.service,
        to: from,
        label: `${status}${issued ? " access token" : ""} · ${duration(span.endMs - span.startMs)}`,
        step: issued ? 3 : undefined,
        error: status >= 400,
      });
    } else if (span.kind === "internal") {
      rows.push({ kind: "note", from: span.service, to: span.service, ...noteOf(span) });
      inner();
    } else {
      inner();
    }
  };
  (children.get(undefined) ?? []).sort((a, b) => a.startMs - b.startMs).forEach(visit);
  return rows;
}

/** What a step inside an app is shown as. @param {Span} span */
function noteOf(span) {
  const a = span.attributes;
  const took = duration(span.endMs - span.startMs);
  const refusal = a["oauth.error"] ? `refused: ${a["oauth.error"]}` : undefined;
  switch (span.name) {
    case "TokenClient.getToken":
      return { label: `token cache: ${a["oauth.token.cache"]}`, detail: `${a["oauth.token.fingerprint"] ?? ""} · ${took}` };
    case "TokenIssuer.token":
      return { label: refusal ?? `checks passed, token signed (${a["jwt.header.alg"]})`, detail: took, step: 2, error: Boolean(refusal) };
    case "BearerGuard.check":
      return { label: refusal ?? `token verified${a["oauth.token.cached"] ? ", from the cache" : ""}`, detail: took, step: 5, error: Boolean(refusal) };
    case "Charges.create":
      return { label: `charge ${a["charge.status"]}`, detail: `${a["charge.amount"] ?? ""} ${a["charge.currency"] ?? ""} · ${took}` };
    case "Settler.settle":
      return { label: `settle the order → ${a["order.outcome"] ?? "?"}`, detail: `attempt ${a["order.attempt"] ?? "?"} · ${took}` };
    default:
      return { label: span.name, detail: took };
  }
}

/** @param {Span[]} spans */
function sequenceDiagram(spans) {
  const rows = rowsOf(spans);
  const laneX = (/** @type {string} */ lane) => 110 + LANES.indexOf(lane) * 230;
  const top = 56;
  const rowHeight = 40;
  const height = top + rows.length * rowHeight + 20;
  // room right of the last lifeline for its notes
  const width = laneX(LANES.at(-1) ?? "") + 225;
  const parts = [];
  for (const lane of LANES) {
    const x = laneX(lane);
    const colour = LANE_COLOURS[/** @type {keyof typeof LANE_COLOURS} */ (lane)];
    parts.push(`<rect x="${x - 95}" y="8" width="190" height="30" rx="6" fill="${colour}"/>`);
    parts.push(`<text x="${x}" y="28" class="lane">${escape(LANE_TITLES[/** @type {keyof typeof LANE_TITLES} */ (lane)])}</text>`);
    parts.push(`<line x1="${x}" y1="38" x2="${x}" y2="${height}" class="life"/>`);
  }
  rows.forEach((row, index) => {
    const y = top + index * rowHeight + 14;
    const badge = (/** @type {number} */ x) =>
      row.step === undefined ? "" : `<circle cx="${x}" cy="${y - 5}" r="10" class="step"/><text x="${x}" y="${y - 1}" class="stepnum">${row.step}</text>`;
    if (row.kind === "note") {
      const x = laneX(row.from);
      parts.push(`<rect x="${x + 8}" y="${y - 16}" width="205" height="30" rx="4" class="note${row.error ? " refused" : ""}"/>`);
      parts.push(`<text x="${x + 16}" y="${y - 3}" class="notelabel">${escape(row.label)}</text>`);
      if (row.detail) parts.push(`<text x="${x + 16}" y="${y + 9}" class="detail">${escape(row.detail)}</text>`);
      parts.push(badge(x - 2));
      return;
    }
    const x1 = laneX(row.from);
    const x2 = laneX(row.to);
    const mid = (x1 + x2) / 2;
    parts.push(`<line x1="${x1}" y1="${y}" x2="${x2}" y2="${y}" class="${row.kind}${row.error ? " refused" : ""}" marker-end="url(#head)"/>`);
    parts.push(`<text x="${mid}" y="${y - 6}" class="arrowlabel${row.error ? " refusedtext" : ""}">${escape(row.label)}</text>`);
    parts.push(badge(Math.min(x1, x2) + 16));
  });
  return `<svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="sequence diagram">
<defs><marker id="head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#374151"/></marker></defs>
${parts.join("\n")}
</svg>`;
}

/** Attributes under `prefix`, without it. @param {Span | undefined} span @param {string} prefix */
function under(span, prefix) {
  if (!span) return undefined;
  const entries = Object.entries(span.attributes).filter(([key]) => key.startsWith(prefix));
  return entries.length === 0 ? undefined : Object.fromEntries(entries.map(([key, value]) => [key.slice(prefix.length), value]));
}

/**
 * The cards under a scene's diagram: the token as issued (decoded), then the
 * checks of every token request (step 2) and every protected request
 * (step 5) in the scene, in order, with the reason of each refusal.
 * @param {Span[]} spans
 */
function details(spans) {
  const issued = spans.find((span) => span.name === "TokenIssuer.token" && span.attributes["jwt.header.alg"] !== undefined);
  const blocks = [];
  const header = under(issued, "jwt.header.");
  const bound = issued?.attributes["oauth.dpop.jkt"];
  const claims = under(issued, "jwt.claims.");
  // a DPoP-bound token's cnf is an object, kept on the span as oauth.dpop.jkt
  if (claims && bound !== undefined) claims.cnf = { jkt: bound };
  if (header && claims) {
    blocks.push(`<section class="card"><h3>(3) The access token, decoded</h3>
<p class="muted">Its signature is never exported: only what any holder of the token can read.</p>
<pre>header ${escape(JSON.stringify(header, null, 2))}</pre><pre>claims ${escape(JSON.stringify(claims, null, 2))}</pre></section>`);
  }
  for (const span of spans) {
    const title = span.name === "TokenIssuer.token" ? "(2) Checks at auth-server" : span.name === "BearerGuard.check" ? "(5) Checks at payment-service" : undefined;
    if (title === undefined) continue;
    const passed = span.events.filter((event) => event.name === "check").map((event) => `<li class="ok">${escape(event.attributes.check)}</li>`);
    const error = span.attributes["oauth.error"];
    const why = [span.attributes["oauth.error_description"], span.attributes["oauth.refusal_reason"]].filter((text) => text !== undefined);
    const refusal = error ? `<li class="no">refused: <b>${escape(error)}</b>${why.map((text) => ` (${escape(text)})`).join("")}</li>` : "";
    const who = span.attributes["oauth.client_id"] ? `<p class="muted">client <b>${escape(span.attributes["oauth.client_id"])}</b>, scope <b>${escape(span.attributes["oauth.scope"] ?? "")}</b></p>` : "";
    blocks.push(`<section class="card"><h3>${title}</h3>${who}<ul class="checks">${passed.join("")}${refusal}</ul></section>`);
  }
  return blocks.join("\n");
}

/** Every span of the trace as a bar on one time axis. @param {Span[]} spans */
function waterfall(spans) {
  const start = Math.min(...spans.map((span) => span.startMs));
  const end = Math.max(...spans.map((span) => span.endMs));
  const total = Math.max(end - start, 0.001);
  const rows = spans.map((span) => {
    const left = ((span.startMs - start) / total) * 100;
    const width = Math.max(((span.endMs - span.startMs) / total) * 100, 0.4);
    const colour = LANE_COLOURS[/** @type {keyof typeof LANE_COLOURS} */ (span.service)] ?? "#6b7280";
    return `<tr><td class="svc">${escape(span.service)}</td><td class="name">${escape(span.name)}${span.status.code === "error" ? " ✗" : ""}</td><td class="bar"><span style="left:${left.toFixed(2)}%;width:${width.toFixed(2)}%;background:${colour}"></span></td><td class="ms">${duration(span.endMs - span.startMs)}</td></tr>`;
  });
  return `<table class="waterfall"><thead><tr><th>app</th><th>span</th><th>0 → ${duration(total)}</th><th></th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#111827;background:#f9fafb}
header{background:#111827;color:#f9fafb;padding:18px 28px}header h1{margin:0;font-size:20px}header p{margin:4px 0 0;color:#d1d5db}
main{padding:8px 28px 40px}.scene{background:#fff;border:1px solid #e5e7eb;border-radius:10px;margin:20px 0;padding:16px 20px}
.scene h2{margin:0 0 4px;font-size:17px}.muted{color:#6b7280;margin:2px 0 10px}.trace{font-family:ui-monospace,monospace;font-size:12px;color:#6b7280}
.diagram{overflow-x:auto}.cards{display:flex;flex-wrap:wrap;gap:14px}.card{flex:1 1 320px;border:1px solid #e5e7eb;border-radius:8px;padding:10px 14px;background:#fcfcfd}
.card h3{margin:0 0 6px;font-size:14px}pre{background:#f3f4f6;border-radius:6px;padding:8px;font-size:12px;overflow-x:auto;margin:6px 0}
ul.checks{list-style:none;padding:0;margin:0}ul.checks li{padding:2px 0}li.ok::before{content:"✓ ";color:#15803d;font-weight:bold}li.no{color:#b91c1c}li.no::before{content:"✗ ";font-weight:bold}
text.lane{fill:#fff;font-size:12px;font-weight:600;text-anchor:middle}line.life{stroke:#d1d5db;stroke-dasharray:4 4}
line.call{stroke:#374151;stroke-width:1.6}line.answer{stroke:#374151;stroke-width:1.2;stroke-dasharray:6 3}line.refused{stroke:#b91c1c}
text.arrowlabel{font-size:12px;text-anchor:middle;fill:#111827}text.refusedtext{fill:#b91c1c;font-weight:600}
rect.note{fill:#eef2ff;stroke:#c7d2fe}rect.note.refused{fill:#fef2f2;stroke:#fca5a5}text.notelabel{font-size:12px;fill:#111827}text.detail{font-size:10px;fill:#6b7280}
circle.step{fill:#111827}text.stepnum{fill:#fff;font-size:11px;font-weight:700;text-anchor:middle}
table.waterfall{width:100%;border-collapse:collapse;font-size:12px;margin-top:10px}table.waterfall td,table.waterfall th{padding:2px 6px;text-align:left;white-space:nowrap}
td.bar{width:55%;position:relative}td.bar span{position:absolute;top:4px;height:10px;border-radius:3px}td.ms{text-align:right;color:#6b7280}td.svc{color:#6b7280}
.legend{margin:12px 0 0;color:#374151}.legend b{display:inline-block;width:20px;height:20px;border-radius:10px;background:#111827;color:#fff;text-align:center;line-height:20px;font-size:11px;margin-right:4px}
`;

/**
 * The page: a heading, the five steps' legend, and one section per scene.
 * @param {{ title?: string, subtitle?: string, scenes: Scene[], generatedAt?: Date }} run
 * @returns {string}
 */
export function renderRunPicture(run) {
  const sections = run.scenes.map(
    (scene, index) => `<section class="scene">
<h2>${index + 1}. ${escape(scene.title)}</h2>
${scene.note ? `<p class="muted">${escape(scene.note)}</p>` : ""}
<p class="trace">trace ${escape(scene.spans[0]?.traceId ?? "none")} · ${scene.spans.length} spans</p>
<div class="diagram">${scene.spans.length > 0 ? sequenceDiagram(scene.spans) : "<p>No span of this scene was received.</p>"}</div>
<div class="cards">${details(scene.spans)}</div>
${scene.spans.length > 0 ? waterfall(scene.spans) : ""}
</section>`,
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${escape(run.title ?? "The run, as the apps traced it")}</title><style>${STYLE}</style></head>
<body><header><h1>${escape(run.title ?? "The run, as the apps traced it")}</h1><p>${escape(run.subtitle ?? "Client credentials, end to end: order-service → auth-server → payment-service")} · drawn from the spans the three apps exported${run.generatedAt ? ` · ${escape(run.generatedAt.toISOString())}` : ""}</p></header>
<main><p class="legend"><b>1</b>token request <b>2</b>checks at auth-server <b>3</b>the signed token <b>4</b>the call with the token <b>5</b>checks at payment-service</p>
${sections.join("\n")}
</main></body></html>
`;
}
