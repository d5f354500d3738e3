/**
 * Host monitoring, the pure part: parsers of Linux /proc files and the arithmetic that turns two
 * cumulative CPU counters into a utilisation. Reading the files (a side effect) is in ../hostMonitor.ts.
 *
 * - /proc/stat first line: cumulative jiffies `user nice system idle iowait irq softirq steal …`;
 *   busy % over an interval = 100 × (Δtotal − Δidle − Δiowait) / Δtotal (proc(5)).
 * - /proc/meminfo: kB values; used = MemTotal − MemAvailable (what `free` calls used + buff/cache
 *   that cannot be reclaimed).
 */

export interface CpuTimes {
  total: number;
  idle: number;
}

export function parseProcStat(text: string): CpuTimes {
  const line = text.split('\n').find((l) => /^cpu\s/.test(l));
  if (!line) throw new Error('/proc/stat has no aggregate cpu line');
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // guest and guest_nice (fields 9, 10) are already counted in user and nice
  const fields = v.slice(0, 8);
  const total = fields.reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { total, idle };
}

/** CPU busy percentage between two readings; null when no time passed. */
export function cpuPercent(prev: CpuTimes, cur: CpuTimes): number | null {
  const dt = cur.total - prev.total;
  if (dt <= 0) return null;
  return Math.max(0, Math.min(100, (100 * (dt - (cur.idle - prev.idle))) / dt));
}

export interface MemInfo {
  totalMB: number;
  availableMB: number;
  usedMB: number;
  usedPct: number;
  swapUsedMB: number;
}

export function parseMeminfo(text: string): MemInfo {
  const kb: Record<string, number> = {};
  for (const l of text.split('\n')) {
    const m = /^(\w+(?:\(\w+\))?):\s+(\d+)/.exec(l);
    if (m) kb[m[1]] = Number(m[2]);
  }
  if (!kb.MemTotal) throw new Error('/proc/meminfo has no MemTotal');
  // MemAvailable exists since Linux 3.14; before, free + buffers + cached is the usual estimate
  const avail = kb.MemAvailable ?? (kb.MemFree ?? 0) + (kb.Buffers ?? 0) + (kb.Cached ?? 0);
  const totalMB = kb.MemTotal / 1024;
  const availableMB = avail / 1024;
  return {
    totalMB,
    availableMB,
    usedMB: totalMB - availableMB,
    usedPct: (100 * (totalMB - availableMB)) / totalMB,
    swapUsedMB: ((kb.SwapTotal ?? 0) - (kb.SwapFree ?? 0)) / 1024,
  };
}

export interface DiskUsage {
  totalGB: number;
  freeGB: number;
  usedPct: number;
}

/** From statfs(2) values: blocks available to unprivileged users count as free (as `df` does). */
export function diskUsage(s: { bsize: number; blocks: number; bfree: number; bavail: number }): DiskUsage {
  const total = s.blocks * s.bsize;
  const used = (s.blocks - s.bfree) * s.bsize;
  const avail = s.bavail * s.bsize;
  return { totalGB: total / 1e9, freeGB: avail / 1e9, usedPct: used + avail > 0 ? (100 * used) / (used + avail) : 0 };
}
