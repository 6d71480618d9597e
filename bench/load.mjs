// The load generator, run by bench/run.mjs as its own process so that it does not share the event
// loop (or the CPU accounting) of the app server. Drives autocannon's API: connection i sends
// cookies[i % cookies.length], so each connection is one visitor with their own session.
// Usage: node bench/load.mjs '<json>'  with  { url, connections, duration | amount, cookies? }
// Prints one line of JSON: { rps, p50, p99, ... }.
import autocannon from 'autocannon';

const config = JSON.parse(process.argv[2] ?? '{}');
if (typeof config.url !== 'string' || !config.url.startsWith('http://127.0.0.1:')) {
  console.error('load.mjs: url must be a loopback http URL');
  process.exit(2);
}
const cookies = Array.isArray(config.cookies) ? config.cookies : [];
let next = 0;

const instance = autocannon({
  url: config.url,
  connections: config.connections ?? 10,
  pipelining: 1,
  timeout: 10,
  ...(config.amount ? { amount: config.amount } : { duration: config.duration ?? 5 }),
  setupClient(client) {
    if (cookies.length > 0) client.setHeaders({ cookie: cookies[next++ % cookies.length] });
  },
});
// autocannon's own histogram keeps whole milliseconds; its response event has the fractional
// time, so percentiles are computed here, from every 2xx response.
let latencies = new Float64Array(1 << 16);
let count = 0;
instance.on('response', (_client, statusCode, _bytes, responseTime) => {
  if (statusCode < 200 || statusCode > 299) return;
  if (count === latencies.length) {
    const bigger = new Float64Array(latencies.length * 2);
    bigger.set(latencies);
    latencies = bigger;
  }
  latencies[count++] = responseTime;
});
const result = await instance;
const sorted = latencies.subarray(0, count).sort();
const percentile = (p) => (count === 0 ? NaN : sorted[Math.min(count - 1, Math.ceil((p / 100) * count) - 1)]);

const ok = result['2xx'] ?? 0;
process.stdout.write(
  `${JSON.stringify({
    seconds: result.duration,
    ok,
    non2xx: result.non2xx ?? 0,
    errors: result.errors ?? 0,
    timeouts: result.timeouts ?? 0,
    rps: ok / result.duration,
    p50: percentile(50),
    p99: percentile(99),
    mean: count ? sorted.reduce((a, b) => a + b, 0) / count : NaN,
  })}\n`,
);
