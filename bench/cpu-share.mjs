// How much of the machine's CPU went to processes that are not part of this benchmark.
// The benchmark's own process tree is everything under the process that started bench/run.mjs
// (scripts/with-server.mjs: the database server, run.mjs, the app servers, the load generators).
// Linux only (/proc); elsewhere it reports nothing and nothing is re-measured.
import { readdirSync, readFileSync } from 'node:fs';

function readStat(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may contain spaces: split after it.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15, cutime 16, cstime 17.
    return {
      ppid: Number(fields[1]),
      own: Number(fields[11]) + Number(fields[12]),
      reaped: Number(fields[13]) + Number(fields[14]),
    };
  } catch {
    return undefined;
  }
}

/** Busy and total CPU ticks of the whole machine, all CPUs. */
function machineTicks() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return { busy: user + nice + system + irq + softirq, total: user + nice + system + idle + iowait + irq + softirq + (steal || 0) };
}

/** CPU ticks used by the benchmark's process tree (rooted at our parent), reaped children included. */
function treeTicks(root) {
  const stats = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(name);
    if (stat) stats.set(Number(name), stat);
  }
  const children = new Map();
  for (const [pid, stat] of stats) {
    if (!children.has(stat.ppid)) children.set(stat.ppid, []);
    children.get(stat.ppid).push(pid);
  }
  let ticks = 0;
  const queue = [root];
  for (let i = 0; i < queue.length && i < 10_000; i++) {
    const pid = queue[i];
    const stat = stats.get(pid);
    if (stat) ticks += stat.own + stat.reaped;
    for (const child of children.get(pid) ?? []) queue.push(child);
  }
  return ticks;
}

export function cpuSnapshot() {
  try {
    return { machine: machineTicks(), ours: treeTicks(process.ppid) };
  } catch {
    return undefined;
  }
}

/** Share (0..1) of all CPU time between two snapshots used by processes outside the benchmark. */
export function foreignShare(before, after) {
  if (!before || !after) return 0;
  const total = after.machine.total - before.machine.total;
  if (total <= 0) return 0;
  const foreign = after.machine.busy - before.machine.busy - (after.ours - before.ours);
  return Math.max(0, foreign) / total;
}
