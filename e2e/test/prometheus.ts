/**
 * A strict reader of the Prometheus text exposition format (version 0.0.4),
 * enough to hold /metrics to it: every sample belongs to a family declared
 * by `# HELP` and `# TYPE`, names and labels are well formed, values are
 * numbers, a counter's samples end in `_total`, and a histogram's buckets
 * rise to `+Inf` and agree with its `_count`. Throws on the first problem.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: -?\d+)?$/;
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

export function parsePrometheusText(text: string): Sample[] {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  text.split("\n").forEach((line, index) => {
    const where = `line ${index + 1}: ${JSON.stringify(line)}`;
    if (line === "") return;
    if (line.startsWith("# HELP ")) {
      if (!NAME.test(line.split(" ")[2] ?? "")) throw new Error(`bad HELP, ${where}`);
      return;
    }
    if (line.startsWith("# TYPE ")) {
      const [, , name = "", type = ""] = line.split(" ");
      if (!NAME.test(name) || !TYPES.has(type) || types.has(name)) throw new Error(`bad TYPE, ${where}`);
      types.set(name, type);
      return;
    }
    if (line.startsWith("#")) return;
    const match = SAMPLE.exec(line);
    if (!match) throw new Error(`not a sample, ${where}`);
    const [, name = "", rawLabels = "", rawValue = ""] = match;
    const labels: Record<string, string> = {};
    for (let rest = rawLabels; rest !== ""; ) {
      const label = LABEL.exec(rest);
      if (!label) throw new Error(`bad labels, ${where}`);
      labels[label[1]!] = label[2]!.replace(/\\n/g, "\n").replace(/\\(["\\])/g, "$1");
      rest = rest.slice(label[0].length);
    }
    const value = rawValue === "+Inf" ? Infinity : rawValue === "-Inf" ? -Infinity : rawValue === "NaN" ? NaN : Number(rawValue);
    if (Number.isNaN(value) && rawValue !== "NaN") throw new Error(`bad value, ${where}`);
    const family = [name, name.replace(/_(bucket|sum|count)$/, "")].find((candidate) => types.has(candidate));
    if (family === undefined) throw new Error(`sample of no declared family, ${where}`);
    if (types.get(family) === "counter" && !name.endsWith("_total")) throw new Error(`a counter not named *_total, ${where}`);
    samples.push({ name, labels, value });
  });
  for (const [family, type] of types) if (type === "histogram") checkHistogram(family, samples);
  return samples;
}

/** Each series of a histogram: cumulative buckets ending at `+Inf`, equal to its `_count`. */
function checkHistogram(family: string, samples: Sample[]): void {
  const series = new Map<string, Sample[]>();
  for (const sample of samples.filter((s) => s.name === `${family}_bucket`)) {
    const { le: _bound, ...rest } = sample.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    series.set(key, [...(series.get(key) ?? []), sample]);
  }
  for (const [key, buckets] of series) {
    const bounds = buckets.map((b) => Number(b.labels.le === "+Inf" ? Infinity : b.labels.le));
    const counts = buckets.map((b) => b.value);
    const rising = bounds.every((b, i) => i === 0 || b > bounds[i - 1]!) && counts.every((c, i) => i === 0 || c >= counts[i - 1]!);
    const count = samples.find((s) => s.name === `${family}_count` && JSON.stringify(Object.entries(s.labels).sort()) === key);
    if (!rising || bounds.at(-1) !== Infinity || count?.value !== counts.at(-1)) throw new Error(`histogram ${family} ${key} is inconsistent`);
  }
}

/** The value of the one sample named `name` whose labels include `labels`; undefined when there is none. */
export function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v) && Object.keys(s.labels).length === Object.keys(labels).length);
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${found.length} samples`);
  return found[0]?.value;
}
