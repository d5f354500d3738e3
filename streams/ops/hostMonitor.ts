/**
 * Host monitoring, the side-effect part: reads /proc and statfs for the machine this runs on and
 * returns an `org.gft.ops.Telemetry` value for source `host:<hostname>`. Real measurements, so not
 * deterministic; timestamps are the wall-clock time of the reading. Falls back to node:os where /proc
 * is absent (non-Linux).
 */
import { readFileSync, statfsSync } from 'node:fs';
import { cpus, freemem, hostname, loadavg, totalmem, uptime } from 'node:os';
import { cpuPercent, diskUsage, parseMeminfo, parseProcStat, type CpuTimes } from './core/host.ts';
import { round } from './core/noise.ts';
import type { TelemetryValue } from './core/samples.ts';

function cpuTimes(): CpuTimes {
  try {
    return parseProcStat(readFileSync('/proc/stat', 'utf8'));
  } catch {
    let total = 0;
    let idle = 0;
    for (const c of cpus()) {
      const t = c.times;
      total += t.user + t.nice + t.sys + t.idle + t.irq;
      idle += t.idle;
    }
    return { total, idle };
  }
}

export class HostMonitor {
  private prev: CpuTimes = cpuTimes();
  readonly source: string;

  constructor(
    readonly diskPath = '/',
    name = hostname(),
  ) {
    this.source = `host:${name}`;
  }

  sample(now = Date.now()): TelemetryValue {
    const cur = cpuTimes();
    // below ~10 clock ticks per CPU the ratio is mostly rounding: report it at the next sample
    const enough = cur.total - this.prev.total >= 10 * Math.max(1, cpus().length);
    const cpu = enough ? cpuPercent(this.prev, cur) : null;
    if (enough) this.prev = cur;
    const metrics: Record<string, number> = {};
    if (cpu !== null) metrics.cpuPct = round(cpu, 2);
    const [l1, l5] = loadavg();
    metrics.load1 = round(l1, 2);
    metrics.load5 = round(l5, 2);
    metrics.cpus = cpus().length;
    try {
      const m = parseMeminfo(readFileSync('/proc/meminfo', 'utf8'));
      metrics.memUsedPct = round(m.usedPct, 2);
      metrics.memUsedMB = round(m.usedMB, 1);
      metrics.memTotalMB = round(m.totalMB, 1);
      metrics.swapUsedMB = round(m.swapUsedMB, 1);
    } catch {
      const total = totalmem() / 2 ** 20;
      const free = freemem() / 2 ** 20;
      metrics.memUsedPct = round((100 * (total - free)) / total, 2);
      metrics.memUsedMB = round(total - free, 1);
      metrics.memTotalMB = round(total, 1);
    }
    try {
      const d = diskUsage(statfsSync(this.diskPath));
      metrics.diskUsedPct = round(d.usedPct, 2);
      metrics.diskFreeGB = round(d.freeGB, 2);
      metrics.diskTotalGB = round(d.totalGB, 2);
    } catch {
      /* disk path unreadable: report the rest */
    }
    metrics.uptimeH = round(uptime() / 3600, 2);
    return { source: this.source, time: now, metrics, state: 'up' };
  }
}
