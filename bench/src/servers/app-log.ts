/**
 * What the bench reads from an app's log (one JSON line per event on
 * stdout, docs/log-events.md), once the app has written it to a file:
 * requests by `METHOD /path` (`http.request`) and tokens issued by
 * (client, audience, scope) (`token.issued`).
 */
export interface LogCounts {
  /** `http.request` lines, by `METHOD /path`. */
  requests: Record<string, number>;
  /** `token.issued` lines, by `client_id aud scope`. */
  tokensIssued: Record<string, number>;
  /** Every line, by its event name (`msg`). */
  events: Record<string, number>;
}

interface LogLine {
  msg?: string;
  method?: string;
  path?: string;
  client_id?: string;
  claims?: { aud?: unknown; scope?: unknown };
}

export function countLogEvents(text: string): LogCounts {
  const counts: LogCounts = { requests: {}, tokensIssued: {}, events: {} };
  const add = (record: Record<string, number>, key: string) => {
    record[key] = (record[key] ?? 0) + 1;
  };
  for (const raw of text.split("\n")) {
    if (raw === "") continue;
    let line: LogLine;
    try {
      line = JSON.parse(raw) as LogLine;
    } catch {
      add(counts.events, "(not JSON)");
      continue;
    }
    add(counts.events, line.msg ?? "(no msg)");
    if (line.msg === "http.request") add(counts.requests, `${line.method ?? "?"} ${line.path ?? "?"}`);
    if (line.msg === "token.issued") add(counts.tokensIssued, `${line.client_id ?? "?"} ${String(line.claims?.aud ?? "?")} ${String(line.claims?.scope ?? "?")}`);
  }
  return counts;
}
