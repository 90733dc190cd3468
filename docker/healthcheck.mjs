// Container health probe: exits 0 when the app in this container answers 200
// on the given path (`/healthz` for liveness, `/readyz` for readiness).
// The slim base image has no curl; node's fetch does the job.
const path = process.argv[2] ?? "/healthz";
const port = process.env.PORT ?? "";

try {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(5000) });
  process.exit(res.ok ? 0 : 1);
} catch {
  process.exit(1);
}
