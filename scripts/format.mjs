// Renders one JSON log line as one readable line: time, service, level,
// event, then the remaining fields. Used by `npm start`.
const COLOURS = { "auth-server": 35, "order-service": 36, "payment-service": 33 };
const SKIP = new Set(["service", "msg", "level", "time", "pid", "hostname"]);

/** @param {string} text @param {number} code */
const paint = (text, code) => (process.stdout.isTTY ? `\u001b[${code}m${text}\u001b[0m` : text);

/** @param {import("./stack.mjs").LogLine} line */
export function formatLine(line) {
  const time = typeof line.time === "string" ? line.time.slice(11, 23) : "";
  const service = String(line.service ?? "?").padEnd(15);
  const level = String(line.level ?? "info").padEnd(5);
  const rest = Object.entries(line)
    .filter(([key]) => !SKIP.has(key))
    .map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`)
    .join(" ");
  const colour = COLOURS[/** @type {keyof typeof COLOURS} */ (line.service)] ?? 37;
  return `${time} ${paint(service, colour)} ${level} ${line.msg} ${rest}`.trimEnd();
}
