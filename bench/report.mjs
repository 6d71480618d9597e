// Turns the results of bench/run.mjs into console tables, docs/benchmarks.md and
// docs/benchmarks.svg. Nothing here measures anything; every number comes from `results`.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const MiB = 2 ** 20;
const fmt = (value, digits = 0) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
const int = (value) => (Number.isFinite(value) ? Math.round(value).toLocaleString('en') : 'n/a');
const ratio = (value) => (Number.isFinite(value) ? `${value.toFixed(2)}x` : 'n/a');

function commandsText(row) {
  const names = Object.entries(row.commandsByName)
    .filter(([, perRequest]) => perRequest >= 0.005)
    .map(([name, perRequest]) => `${perRequest.toFixed(2)} ${name}`);
  return names.length ? `${fmt(row.commandsPerRequest, 2)} (${names.join(' + ')})` : fmt(row.commandsPerRequest, 2);
}

/** Every performance target, judged from the measurements. */
export function evaluateTargets(results) {
  const { summary } = results.matrix;
  const ms = summary.mongosess;
  const ex = summary.express;
  const raw = summary.raw;
  const targets = [];

  const setRatio = ms.set.rps / ex.set.rps;
  targets.push({
    target: 'set one key without reading: mongosess >= 1.5x the req/s of express-session + connect-mongo',
    measured:
      `${int(ms.set.rps)} vs ${int(ex.set.rps)} req/s = ${ratio(setRatio)} ` +
      `(the raw-driver baseline, one write and no session logic, reached ${ratio(raw.set.rps / ex.set.rps)})`,
    met: setRatio >= 1.5,
  });
  for (const key of ['read', 'readset', 'new']) {
    const label = results.workloads.find((w) => w.key === key).label;
    const r = ms[key].rps / ex[key].rps;
    targets.push({
      target: `${label}: mongosess never slower than express-session + connect-mongo (req/s ratio >= 1.00)`,
      measured: `${int(ms[key].rps)} vs ${int(ex[key].rps)} req/s = ${ratio(r)}`,
      met: r >= 1,
    });
  }
  for (const w of results.workloads) {
    const r = ms[w.key].cpuPerRequest / raw[w.key].cpuPerRequest;
    targets.push({
      target: `${w.label}: Node CPU per request within 1.25x of the raw-driver baseline`,
      measured: `${fmt(ms[w.key].cpuPerRequest)} vs ${fmt(raw[w.key].cpuPerRequest)} us = ${ratio(r)}`,
      met: r <= 1.25,
    });
  }
  const { rss } = results;
  const highest = Math.max(...rss.samples.map((sample) => sample.rss));
  targets.push({
    target: `RSS flat (within 10%) over ${int(rss.requests)} mongosess requests`,
    measured:
      `${fmt(rss.before / MiB, 1)} MiB after warm-up, ${fmt(rss.after / MiB, 1)} MiB after = ${ratio(rss.ratio)}; ` +
      `highest reading ${ratio(highest / rss.before)} of the first`,
    met: rss.ratio <= 1.1 && highest / rss.before <= 1.1,
  });
  const { scaling } = results;
  const lookupRatio = scaling.read.large.rps / scaling.read.small.rps;
  targets.push({
    target: `session lookup no slower with ${int(scaling.sizes.large)} sessions stored than with ${int(scaling.sizes.small)} (read-one-key req/s at least 90% of it)`,
    measured: `${int(scaling.read.large.rps)} vs ${int(scaling.read.small.rps)} req/s = ${ratio(lookupRatio)}; p50 ${fmt(scaling.read.large.p50, 2)} vs ${fmt(scaling.read.small.p50, 2)} ms`,
    met: lookupRatio >= 0.9,
  });
  // mongosess/express-session against the express-session app it replaces (runs before it was added have no such app).
  const xs = summary.exsess;
  if (xs) {
    for (const w of results.workloads) {
      const r = xs[w.key].rps / ex[w.key].rps;
      targets.push({
        target: `${w.label}: mongosess/express-session at least the req/s of express-session + connect-mongo`,
        measured: `${int(xs[w.key].rps)} vs ${int(ex[w.key].rps)} req/s = ${ratio(r)}`,
        met: r >= 1,
      });
    }
    // Issue 18: one command per request where express-session sends two, and never more than it.
    for (const w of results.workloads) {
      const mine = xs[w.key].commandsPerRequest;
      const theirs = ex[w.key].commandsPerRequest;
      const twice = theirs >= 1.995;
      targets.push({
        target: `${w.label}: mongosess/express-session sends ${twice ? '1 database command per request where express-session + connect-mongo sends 2' : 'no more database commands per request than express-session + connect-mongo'}`,
        measured: `${fmt(mine, 2)} vs ${fmt(theirs, 2)} commands/req`,
        met: twice ? mine <= 1.005 : mine <= theirs + 0.005,
      });
    }
    const lostXs = results.lost.exsess?.lost;
    targets.push({
      target: `${results.env.config.parallel} parallel requests on one session, each setting a different key: mongosess/express-session loses none`,
      measured: `lost ${lostXs}, express-session + connect-mongo lost ${results.lost.express.lost}`,
      met: lostXs === 0,
    });
  }
  const lostMs = results.lost.mongosess.lost;
  const viaProxy = results.lostRoute === 'proxy';
  targets.push({
    target: `${results.env.config.parallel} parallel requests on one session, each setting a different key: mongosess loses none`,
    measured:
      `mongosess lost ${lostMs}, express-session + connect-mongo lost ${results.lost.express.lost}, ` +
      `raw driver $set (the server's own ceiling) lost ${results.lost.raw.lost}` +
      (viaProxy ? ' (through the serializing proxy; direct figures below)' : ''),
    met: lostMs === 0,
    note:
      results.isFerret && !viaProxy && lostMs > 0
        ? 'the database server does not apply concurrent updates of one document atomically (see below)'
        : undefined,
  });
  return targets;
}

const lostLine = (app, figures, parallel) => `${app.label.padEnd(32)}  lost ${figures[app.key].lost} of ${parallel}`;

/** The lost-update figures for the console: the reported ones, then (if measured) the direct ones. */
export function formatLostUpdates(results) {
  const parallel = results.env.config.parallel;
  const viaProxy = results.lostRoute === 'proxy';
  const lines = [`-- lost updates (median over trials${viaProxy ? ', through the serializing proxy' : ''})`];
  for (const app of results.apps) lines.push(lostLine(app, results.lost, parallel));
  if (results.lostDirect) {
    lines.push('', `-- lost updates direct to ${results.env.databaseName} (not atomic per document; footnote)`);
    for (const app of results.apps) lines.push(lostLine(app, results.lostDirect, parallel));
  }
  return lines.join('\n');
}

function pad(cells, widths) {
  return cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
}

export function formatConsoleTables(results) {
  const lines = [];
  const header = ['app', 'req/s', 'p50 ms', 'p99 ms', 'CPU us/req', 'db cmd/req', 'peak RSS MiB', 'failed'];
  const widths = [32, 7, 7, 7, 10, 10, 12, 6];
  lines.push(
    `Medians of ${results.env.config.runs} run(s), ${results.env.config.duration} s per cell, ${results.env.config.connections} connections; ${results.env.databaseServer}`,
  );
  for (const w of results.workloads) {
    lines.push('', `-- ${w.label}`, pad(header, widths));
    for (const app of results.apps) {
      const row = results.matrix.summary[app.key][w.key];
      lines.push(
        pad(
          [
            app.label,
            int(row.rps),
            fmt(row.p50, 2),
            fmt(row.p99, 2),
            fmt(row.cpuPerRequest),
            fmt(row.commandsPerRequest, 2),
            fmt(row.peakRss / MiB, 1),
            row.failed,
          ],
          widths,
        ),
      );
    }
  }
  lines.push('', formatLostUpdates(results));
  lines.push('', '-- targets');
  for (const t of evaluateTargets(results))
    lines.push(`${t.met ? 'MET    ' : 'NOT MET'}  ${t.target}: ${t.measured}${t.note ? ` (${t.note})` : ''}`);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// SVG: a grouped bar chart of req/s per workload, hand-written.

const COLORS = { mongosess: '#2f6fb0', express: '#e0872b', exsess: '#3a9a5b', raw: '#8a8a8a' };
const escapeXml = (text) =>
  String(text).replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]);

function niceStep(max, ticks) {
  const raw = max / ticks;
  const power = 10 ** Math.floor(Math.log10(raw));
  const unit = [1, 2, 2.5, 5, 10].find((u) => u * power >= raw) ?? 10;
  return unit * power;
}

export function renderSvg(results) {
  // One panel per workload, each with its own scale: a new visitor costs a hundredth of a write,
  // and one shared axis would flatten every other bar.
  const { summary } = results.matrix;
  const panels = results.workloads.length;
  const panelW = 200;
  const gap = 20;
  const left = 20;
  const width = left + panels * panelW + (panels - 1) * gap + 20;
  const height = 440;
  const top = 110;
  const plotH = 250;
  const axisW = 46;
  const cfg = results.env.config;

  const out = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">Requests per second (median of ${cfg.runs} run${cfg.runs > 1 ? 's' : ''}; higher is better)</text>`,
  );
  out.push(
    `<text x="${width / 2}" y="43" text-anchor="middle" fill="#555">${escapeXml(`${results.env.databaseServer}; Node ${results.env.node}; ${results.env.nproc} CPUs; ${cfg.connections} connections; each panel has its own scale`)}</text>`,
  );
  const legendW = results.apps.reduce((w, app) => w + 34 + app.label.length * 6.4, 0);
  let lx = (width - legendW) / 2;
  for (const app of results.apps) {
    out.push(`<rect x="${lx.toFixed(1)}" y="58" width="12" height="12" fill="${COLORS[app.key]}"/>`);
    out.push(`<text x="${(lx + 17).toFixed(1)}" y="68">${escapeXml(app.label)}</text>`);
    lx += 34 + app.label.length * 6.4;
  }
  for (const [pi, w] of results.workloads.entries()) {
    const x0 = left + pi * (panelW + gap);
    const values = results.apps.map((a) => summary[a.key][w.key].rps);
    const maxValue = Math.max(1, ...values.filter(Number.isFinite));
    const step = niceStep(maxValue, 4);
    const topValue = Math.ceil((maxValue * 1.08) / step) * step;
    const y = (v) => top + plotH - (v / topValue) * plotH;
    const plotX = x0 + axisW;
    const plotW = panelW - axisW;
    const cx = (plotX + plotW / 2).toFixed(1);
    out.push(`<text x="${cx}" y="${top - 14}" text-anchor="middle" font-weight="bold" fill="#222">${escapeXml(w.short ?? w.label)}</text>`);
    for (let v = 0; v <= topValue + 1e-9; v += step) {
      const yy = y(v).toFixed(1);
      out.push(`<line x1="${plotX}" y1="${yy}" x2="${x0 + panelW}" y2="${yy}" stroke="${v === 0 ? '#333' : '#e4e4e4'}"/>`);
      out.push(
        `<text x="${plotX - 5}" y="${(Number(yy) + 4).toFixed(1)}" text-anchor="end" fill="#444" font-size="11">${Math.round(v).toLocaleString('en')}</text>`,
      );
    }
    const barW = plotW / results.apps.length;
    for (const [ai, app] of results.apps.entries()) {
      const v = values[ai];
      if (!Number.isFinite(v)) continue;
      const x = plotX + ai * barW;
      const yy = y(v);
      out.push(
        `<rect x="${(x + 5).toFixed(1)}" y="${yy.toFixed(1)}" width="${(barW - 10).toFixed(1)}" height="${(top + plotH - yy).toFixed(1)}" fill="${COLORS[app.key]}"><title>${escapeXml(`${app.label}, ${w.label}: ${Math.round(v)} req/s`)}</title></rect>`,
      );
      out.push(
        `<text x="${(x + barW / 2).toFixed(1)}" y="${(yy - 5).toFixed(1)}" text-anchor="middle" font-size="11" fill="#222">${Math.round(v).toLocaleString('en')}</text>`,
      );
    }
    const ms = summary.mongosess?.[w.key]?.rps;
    const ex = summary.express?.[w.key]?.rps;
    if (Number.isFinite(ms) && Number.isFinite(ex)) {
      out.push(
        `<text x="${cx}" y="${top + plotH + 20}" text-anchor="middle" fill="#555" font-size="11">mongosess / express-session</text>`,
      );
      out.push(
        `<text x="${cx}" y="${top + plotH + 36}" text-anchor="middle" fill="#222" font-weight="bold">${(ms / ex).toFixed(2)}x</text>`,
      );
    }
  }
  out.push(
    `<text x="${width / 2}" y="${height - 14}" text-anchor="middle" fill="#777" font-size="11">${escapeXml(`generated by ${results.env.command} on ${results.env.date.slice(0, 10)}; numbers and method in benchmarks.md`)}</text>`,
  );
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// Markdown

export function renderMarkdown(results) {
  const { env, matrix, lost, rss, scaling } = results;
  const cfg = env.config;
  const targets = evaluateTargets(results);
  const met = targets.filter((t) => t.met).length;
  const L = [];
  L.push('# Benchmarks');
  L.push('');
  L.push(
    `Generated by \`${env.command}\` (\`bench/run.mjs\`) on ${env.date}, on Node.js ${env.node}. Every number below is measured by that script;`,
  );
  L.push('re-run it to regenerate this page and the chart. CPU overhead per operation against the raw driver, its');
  L.push(
    'profiles, and latency as the collection grows are in [overhead.md](overhead.md) (`npm run bench:overhead`, `npm run bench:scale`).',
  );
  L.push(
    'What the express-session apps send to the database per request, and what each command costs the server, are in [express-session-db.md](express-session-db.md) (`npm run bench:express-session-db`).',
  );
  if (results.quick) L.push('', '**This is a `--quick` smoke run: 1 run and short cells. Its numbers are not the benchmark.**');
  L.push('');
  L.push(`## Targets: ${met} of ${targets.length} met`);
  L.push('');
  L.push('| Target | Measured | Met? |');
  L.push('|---|---|---|');
  for (const t of targets) L.push(`| ${t.target} | ${t.measured}${t.note ? ` (${t.note})` : ''} | ${t.met ? 'yes' : '**no**'} |`);
  L.push('');
  L.push('## Machine, versions, command');
  L.push('');
  L.push(`- Machine: ${env.nproc} CPUs (\`nproc\`), ${env.cpu}, ${fmt(env.memoryGiB, 1)} GiB memory, ${env.os}`);
  L.push(`- Node.js ${env.node}`);
  L.push(`- mongosess ${env.versions.mongosess} (commit ${env.commit}), mongodb driver ${env.versions.mongodb}`);
  L.push(
    `- express ${env.versions.express}, express-session ${env.versions['express-session']}, connect-mongo ${env.versions['connect-mongo']}`,
  );
  L.push(`- Load generator: autocannon ${env.versions.autocannon}`);
  L.push(`- Database server: ${env.databaseServer}, on the same machine (loopback)`);
  L.push(
    `- Command: \`${env.command}\`${env.command === 'npm run bench' ? ' (= `npm run build && node scripts/with-server.mjs node bench/run.mjs`)' : ''}`,
  );
  L.push(`- Date: ${env.date} (finished ${results.finishedAt})`);
  if (results.disturbance) {
    const all = [
      ...Object.values(matrix.cells).flatMap((byWorkload) => Object.values(byWorkload).flat()),
      ...scaling.read.cells.small,
      ...scaling.read.cells.large,
    ];
    const shares = all
      .map((c) => c.foreign)
      .filter(Number.isFinite)
      .sort((a, b) => a - b);
    const over = shares.filter((v) => v > cfg.foreignLimit).length;
    L.push(
      `- Other work on the machine: the CPU used by processes outside the benchmark (the machine's busy time in \`/proc/stat\` minus the benchmark's process tree, database server included) was measured around every cell. ` +
        `A cell where it exceeded ${fmt(cfg.foreignLimit * 100)}% of the machine's CPU was measured again (at most ${cfg.retriesPerCell} more times, keeping the least disturbed attempt), and each cell waited for a calm second first, within an overall budget of ${cfg.disturbanceBudgetSeconds} s. ` +
        `This run: ${results.disturbance.retried} re-measurement(s), ${fmt(results.disturbance.waitedMs / 1000)} s of waiting; in the kept cells other processes used a median of ${fmt(shares[shares.length >> 1] * 100)}% and at most ${fmt(shares[shares.length - 1] * 100)}% of the CPU; ${over} of ${shares.length} kept cells stayed above ${fmt(cfg.foreignLimit * 100)}%.`,
    );
  }
  if (results.load) {
    L.push(
      `- Machine load during the run (1-minute load average from \`/proc/loadavg\`, sampled every 5 s): mean ${fmt(results.load.mean, 2)}, max ${fmt(results.load.max, 2)}; at start ${fmt(results.load.start, 2)}. The benchmark itself keeps about 2 to 3 processes busy; a higher figure means other work shared the machine and the numbers are noisier.`,
    );
  }
  L.push('');
  L.push('## Method');
  L.push('');
  L.push(
    `- ${results.apps.length} apps, each in its own Node.js child process (\`bench/servers/\`), each with its own \`MongoClient\` (driver defaults, \`monitorCommands: true\`) and its own collection in one database on one server:`,
  );
  L.push(
    '  - **mongosess** on plain `node:http`, signed cookies (`keys`), all other options default (`MongoSess.connect({ client, db, collection })`).',
  );
  L.push(
    "  - **express-session + connect-mongo** on express 5: `resave: false`, `saveUninitialized: false` (connect-mongo's recommended settings) and `touchAfter: 24 h` (its documented lazy update), so a request that only reads does not also write. The client is passed with connect-mongo's `client` option." +
      (results.isFerret
        ? " Its `autoRemove` is `'interval'`, because FerretDB refuses TTL indexes (mongosess falls back to the same by itself)."
        : ''),
  );
  if (results.apps.some((a) => a.key === 'exsess')) {
    L.push(
      '  - **mongosess/express-session** on express 5: the express-session app above, line for line (`req.session.user = …`), with `session({ secret, resave: false, saveUninitialized: false })` from `mongosess/express-session` in place of express-session + connect-mongo, and `MongoSess.connect({ client, db, collection })`.',
    );
  }
  L.push(
    '  - **raw driver baseline** on plain `node:http`: the same database operations mongosess makes (`findOne` by `_id` to read, `findOneAndUpdate` with `$set` and upsert to write, nothing for a new visitor) with no session logic: the cookie value is the `_id`, no signature, hashing, validation or expiry check.',
  );
  L.push('- Workloads (`GET`), each app doing the same thing:');
  L.push('  - *read one key*: read `user` from the session;');
  L.push('  - *set one key without reading*: store `n` (a new value each request);');
  L.push('  - *read, then set one key*: read `user`, then store `n`;');
  L.push('  - *new visitor who stores nothing*: no cookie; read `user` (absent) and answer.');
  L.push(
    `- Load: autocannon in a separate process (\`bench/load.mjs\`), $cfg.connectionskeep-alive connections, each one visitor with their own session (created beforehand through the app itself), $cfg.durations per cell.`,
  );
  L.push(
    `- $cfg.runsrun$cfg.runs > 1 ? 's' : ''; in each run every workload is measured on the $results.apps.lengthapps one after another (interleaved, order rotated between runs and workloads). Each app and workload got $cfg.warmups of unrecorded warm-up first. Tables show the **median** over runs.`,
  );
  L.push(
    '- Measured in the app process, between two reads of its `/__stats` endpoint around each cell: requests served, `process.cpuUsage()` (user + system) per request, database commands per request (driver `commandStarted` events, not counting `hello`/`ping`/`endSessions`/`buildInfo`/auth), and peak RSS (`process.memoryUsage.rss()` sampled every 20 ms). Requests/s and latency come from autocannon; requests/s counts only 2xx answers.',
  );
  L.push(
    `- The machine has $env.nprocCPUs shared by the database server, the app under test and the load generator, so requests/s is bounded by all three; CPU per request is the app process's own.`,
  );
  L.push('');
  L.push('## Results per workload');
  L.push('');
  L.push('![Requests per second by workload](benchmarks.svg)');
  L.push('');
  L.push('| Workload | App | req/s | p50 ms | p99 ms | Node CPU µs/req | DB commands/req | peak RSS MiB | failed requests |');
  L.push('|---|---|---:|---:|---:|---:|---|---:|---:|');
  for (const w of results.workloads) {
    for (const app of results.apps) {
      const row = matrix.summary[app.key][w.key];
      L.push(
        `| ${w.label} | ${app.label} | ${int(row.rps)} | ${fmt(row.p50, 2)} | ${fmt(row.p99, 2)} | ${fmt(row.cpuPerRequest)} | ${commandsText(row)} | ${fmt(row.peakRss / MiB, 1)} | ${row.failed} |`,
      );
    }
  }
  L.push('');
  L.push('Ratios (mongosess / other app, from the medians above):');
  L.push('');
  L.push('| Workload | req/s vs express-session | req/s vs raw driver | CPU/req vs raw driver |');
  L.push('|---|---:|---:|---:|');
  for (const w of results.workloads) {
    const m = matrix.summary.mongosess[w.key];
    L.push(
      `| ${w.label} | ${ratio(m.rps / matrix.summary.express[w.key].rps)} | ${ratio(m.rps / matrix.summary.raw[w.key].rps)} | ${ratio(m.cpuPerRequest / matrix.summary.raw[w.key].cpuPerRequest)} |`,
    );
  }
  L.push('');
  L.push('## Lost updates');
  L.push('');
  const viaProxy = results.lostRoute === 'proxy';
  L.push(
    `${cfg.parallel} parallel requests on one existing session, each setting a different key (\`k0\` … \`k${cfg.parallel - 1}\`), then one read of the session; lost = keys missing. Median of ${cfg.lostUpdateRepeats} trial(s), each on a fresh session.`,
  );
  if (viaProxy) {
    L.push('');
    L.push(
      `${env.databaseName} does not apply concurrent updates of one document atomically (FerretDB 1.x reads the document, applies the update and writes the document back, with no lock against a concurrent update). So here each app talked to it through a serializing wire-protocol proxy (\`scripts/serial-proxy.mjs\`, ${int(results.proxySerialized)} data commands) that lets one data command at a time reach the server: the server then orders concurrent updates of one document as MongoDB does, and the table measures each app's design rather than the server. The figures straight to the server are in the footnote.`,
    );
  }
  const lostTable = (figures) => {
    L.push('');
    L.push('| App | Keys lost (median) | Each trial | Failed requests |');
    L.push('|---|---:|---|---:|');
    for (const app of results.apps) {
      const l = figures[app.key];
      L.push(
        `| ${app.label} | ${l.lost} of ${cfg.parallel} | ${l.trials.map((t) => t.lost).join(', ')} | ${l.trials.reduce((s, t) => s + t.failed, 0)} |`,
      );
    }
  };
  lostTable(lost);
  L.push('');
  L.push(
    "express-session loads the whole session at the start of each request and writes the whole session back at the end, so concurrent requests overwrite each other's keys: that loss is in its design. mongosess sends one `$set` of only the named key per request, so on a server that applies each update atomically (MongoDB) no key can be lost.",
  );
  if (results.lostDirect) {
    L.push('');
    L.push(
      `Footnote: the same test straight to ${env.databaseName}, without the proxy. Its unlocked read-modify-write loses concurrent \`$set\`s of different fields of one document, whoever sends them; the raw-driver row is the server's own ceiling (mongosess warns about this server at \`connect()\`).`,
    );
    lostTable(results.lostDirect);
  } else if (results.isFerret) {
    L.push('');
    L.push(
      `**About the number for mongosess on this server:** ${env.databaseName} does not apply concurrent updates of one document atomically (FerretDB 1.x reads the document, applies the update and writes the document back, with no lock against a concurrent update), so concurrent \`$set\`s of different fields of one document overwrite each other. The raw-driver row shows it: ${cfg.parallel} parallel \`findOneAndUpdate\` \`$set\`s of different keys sent straight through the driver, with no session logic, and the server lost ${lost.raw.lost} of them. That is the server's own ceiling, and mongosess cannot do better than the server it runs on (mongosess itself warns about this at \`connect()\`). Run the benchmark against MongoDB (\`MONGODB_URI=mongodb://… npm run bench\`) to measure the library rather than FerretDB here.`,
    );
  }
  L.push('');
  L.push(`## RSS over ${int(rss.requests)} requests (mongosess)`);
  L.push('');
  const mix = results.workloads.map((w) => `${fmt(cfg.rssMix[w.key] * 100)}% ${w.label}`).join(', ');
  L.push(
    `After the workloads above and a warm-up pass of the same mix (a tenth as many requests, not recorded: after idle time the allocator may have returned memory to the system, whose regrowth is not growth), the same mongosess process served ${int(rss.requests)} more requests, one workload after another: ${mix}. RSS was read after a forced garbage collection (\`--expose-gc\`) before, and after each workload.`,
  );
  L.push('');
  L.push('| Point | Requests since start | RSS MiB | heap used MiB |');
  L.push('|---|---:|---:|---:|');
  for (const s of rss.samples)
    L.push(
      `| ${s.after ? `after ${s.after}` : 'after warm-up'} | ${int(s.requests)} | ${fmt(s.rss / MiB, 1)} | ${fmt(s.heapUsed / MiB, 1)} |`,
    );
  L.push('');
  L.push(
    `End / start: RSS ${ratio(rss.ratio)}, heap ${ratio(rss.heapAfter / rss.heapBefore)}; peak RSS during the run (sampled) ${fmt(rss.peak / MiB, 1)} MiB.`,
  );
  L.push('');
  L.push(`## Session lookup with ${int(scaling.sizes.small)} vs ${int(scaling.sizes.large)} sessions stored (mongosess)`);
  L.push('');
  L.push(
    `Two more mongosess processes, each with its own collection: one holding ${int(scaling.sizes.small)} sessions, the other ${int(scaling.sizes.large)} (inserted with the driver in mongosess's document format: \`{ _id: sha256(id), d, createdAt, expiresAt }\`). The read-one-key workload through mongosess, ${cfg.scaleDuration} s per cell, the two alternating, ${cfg.runs} run${cfg.runs > 1 ? 's' : ''}, medians:`,
  );
  L.push('');
  L.push('| Sessions stored | req/s | p50 ms | p99 ms | Node CPU µs/req | DB commands/req | failed |');
  L.push('|---:|---:|---:|---:|---:|---:|---:|');
  for (const size of ['small', 'large']) {
    const row = scaling.read[size];
    L.push(
      `| ${int(scaling.sizes[size])} | ${int(row.rps)} | ${fmt(row.p50, 2)} | ${fmt(row.p99, 2)} | ${fmt(row.cpuPerRequest)} | ${fmt(row.commandsPerRequest, 2)} | ${row.failed} |`,
    );
  }
  L.push('');
  if (scaling.driver) {
    const d = scaling.driver;
    L.push(
      `The server alone, without HTTP or mongosess: one session document read and updated by \`_id\` with the driver, one operation at a time (median of ${d.small.findOne.count} reads and of ${d.small.updateOne.count} updates):`,
    );
    L.push('');
    L.push('| Sessions stored | findOne by _id, ms | updateOne by _id, ms |');
    L.push('|---:|---:|---:|');
    for (const size of ['small', 'large'])
      L.push(`| ${int(scaling.sizes[size])} | ${fmt(d[size].findOne.median, 2)} | ${fmt(d[size].updateOne.median, 2)} |`);
    L.push('');
    const updateSlowdown = d.large.updateOne.median / d.small.updateOne.median;
    L.push(
      'A session lookup is one `findOne` by `_id`, a field every MongoDB-compatible server indexes; the two tables above show whether its cost grows with the number of sessions stored.',
    );
    if (updateSlowdown > 3) {
      L.push(
        `Updates are another matter on this server: one \`updateOne\` by \`_id\` took ${fmt(updateSlowdown, 0)}x as long with ${int(scaling.sizes.large)} sessions stored as with ${int(scaling.sizes.small)}. ${env.databaseName} applies an update by scanning the collection, even when the filter is on \`_id\` alone, so every write (mongosess's, connect-mongo's and the raw driver's alike) costs time in proportion to the number of stored documents. That is the server, not the session library, and it is why the workload tables above keep each app's collection small; on MongoDB an update by \`_id\` uses the \`_id\` index.`,
      );
    }
  }
  L.push('');
  L.push('## Notes');
  L.push('');
  L.push(
    "- express-session runs inside express, so its numbers include express's own per-request work (routing, `res.send`, ETag); that is the stack issue 5 asks to compare against. The two other apps use plain `node:http`.",
  );
  L.push(
    "- The new-visitor workload costs mongosess no database command, but it does mint a session id and sends a signed cookie (as mongosess 0.4 did); express-session with `saveUninitialized: false` sends no cookie, and the baseline does nothing at all. Its CPU ratio against the baseline compares mongosess's id generation and cookie signing with an empty handler.",
  );
  if (results.stored) {
    L.push(
      `- Documents in each app's collection at the end: ${results.apps.map((a) => `${a.label} ${int(results.stored[a.key])}`).join(', ')} (${cfg.connections} benchmark sessions plus one per lost-update trial${results.lostDirect ? ', direct and through the proxy' : ''}: no workload left documents behind, the new visitors included).`,
    );
  }
  L.push(
    '- Set-one-key on express-session costs a read and a write: express-session always loads the session before the handler runs, then writes it back whole.',
  );
  if (results.warnings.length) {
    L.push('- Warnings the apps printed during the run:');
    for (const warning of results.warnings) L.push(`  - ${warning.replace(/\|/g, '\\|')}`);
  }
  L.push('');
  L.push('<details><summary>Per-run numbers</summary>');
  L.push('');
  L.push(
    "| Run | Workload | App | req/s | p50 ms | p99 ms | CPU µs/req | DB cmds/req | peak RSS MiB | requests | failed | other processes' CPU | attempts |",
  );
  L.push('|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (let run = 0; run < cfg.runs; run++) {
    for (const w of results.workloads) {
      for (const app of results.apps) {
        const c = matrix.cells[app.key][w.key][run];
        if (!c) continue;
        L.push(
          `| ${run + 1} | ${w.key} | ${app.key} | ${int(c.rps)} | ${fmt(c.p50, 2)} | ${fmt(c.p99, 2)} | ${fmt(c.cpuPerRequest)} | ${fmt(c.commandsPerRequest, 3)} | ${fmt(c.peakRss / MiB, 1)} | ${int(c.requests)} | ${c.failed} | ${fmt((c.foreign ?? NaN) * 100)}% | ${c.attempts ?? 1} |`,
        );
      }
    }
  }
  L.push('');
  L.push('Run-to-run spread of req/s ((max − min) / median):');
  L.push('');
  L.push(`| Workload | ${results.apps.map((a) => a.key).join(' | ')} |`);
  L.push(`|---|${results.apps.map(() => '---:').join('|')}|`);
  for (const w of results.workloads)
    L.push(`| ${w.key} | ${results.apps.map((a) => `${fmt(matrix.summary[a.key][w.key].rpsSpread * 100, 0)}%`).join(' | ')} |`);
  L.push('');
  L.push('Session lookup scale test, per run:');
  L.push('');
  L.push("| Run | Sessions stored | req/s | p50 ms | p99 ms | other processes' CPU | attempts |");
  L.push('|---:|---:|---:|---:|---:|---:|---:|');
  for (let run = 0; run < cfg.runs; run++) {
    for (const size of ['small', 'large']) {
      const c = scaling.read.cells[size][run];
      if (c)
        L.push(
          `| ${run + 1} | ${int(scaling.sizes[size])} | ${int(c.rps)} | ${fmt(c.p50, 2)} | ${fmt(c.p99, 2)} | ${fmt((c.foreign ?? NaN) * 100)}% | ${c.attempts ?? 1} |`,
        );
    }
  }
  L.push('');
  L.push('</details>');
  L.push('');
  return L.join('\n');
}

export function writeReport(results, docsDir) {
  mkdirSync(docsDir, { recursive: true });
  const md = join(docsDir, 'benchmarks.md');
  const svg = join(docsDir, 'benchmarks.svg');
  writeFileSync(md, renderMarkdown(results));
  writeFileSync(svg, renderSvg(results));
  return [md, svg];
}

// `node bench/report.mjs results.json`: renders the docs again from a run saved with --save-json.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node bench/report.mjs <results.json from bench/run.mjs --save-json>');
    process.exit(2);
  }
  const results = JSON.parse(readFileSync(file, 'utf8'));
  console.log(formatConsoleTables(results));
  console.log(`wrote ${writeReport(results, join(dirname(fileURLToPath(import.meta.url)), '..', 'docs')).join(', ')}`);
}
