/**
 * Samples the resident memory of a process (and its descendants, in case `bin/provena.js`
 * turns out to be a thin launcher that spawns the real server) every 50 ms from /proc.
 *
 * Reports the peak VmRSS seen while sampling, for the single largest process and for the whole
 * tree, plus the kernel's own high-water mark (VmHWM) at stop time, which also catches spikes
 * shorter than 50 ms (but covers the process's whole life, not only the sampled window).
 */
import { readFileSync, readdirSync } from 'node:fs';

export interface RssReport {
  samples: number;
  /** bytes; largest VmRSS of any one process in the tree during sampling */
  peakRssBytes: number;
  /** bytes; largest summed VmRSS of the tree during sampling */
  peakTreeRssBytes: number;
  /** bytes; VmRSS of the largest process at start of sampling */
  startRssBytes: number;
  /** bytes; max VmHWM over the tree at stop (lifetime peak) */
  hwmBytes: number;
  /** every process seen, with its own peak VmRSS (bytes) */
  processes: Array<{ pid: number; name: string; peakRssBytes: number }>;
}

/** { rss, hwm } in bytes from /proc/<pid>/status, or null if the process is gone. */
export function readProcMemory(pid: number): { rss: number; hwm: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string): number => {
      const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
      return m ? Number(m[1]) * 1024 : 0;
    };
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return null;
  }
}

/** pid plus all its descendants, via /proc/<pid>/task/<tid>/children. */
export function processTree(root: number): number[] {
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    out.push(pid);
    let tids: string[] = [];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        const kids = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
        if (kids) queue.push(...kids.split(/\s+/).map(Number));
      } catch {
        // thread ended, or kernel without CONFIG_PROC_CHILDREN: sample the root only
      }
    }
  }
  return out;
}

export class RssSampler {
  private timer: NodeJS.Timeout | null = null;
  private samples = 0;
  private peak = 0;
  private peakTree = 0;
  private start = 0;
  private pids: number[] = [];
  private readonly perPid = new Map<number, { name: string; peakRssBytes: number }>();

  constructor(
    private readonly rootPid: number,
    private readonly intervalMs = 50,
  ) {}

  begin(): void {
    this.pids = processTree(this.rootPid);
    this.sample();
    this.start = this.peak;
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  end(): RssReport {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.sample();
    let hwm = 0;
    for (const pid of this.pids) hwm = Math.max(hwm, readProcMemory(pid)?.hwm ?? 0);
    return {
      samples: this.samples,
      peakRssBytes: this.peak,
      peakTreeRssBytes: this.peakTree,
      startRssBytes: this.start,
      hwmBytes: hwm,
      processes: [...this.perPid].map(([pid, p]) => ({ pid, ...p })),
    };
  }

  private sample(): void {
    // Re-list the tree now and then: a launcher may spawn its child after we started.
    if (this.samples % 20 === 0) this.pids = processTree(this.rootPid);
    let tree = 0;
    for (const pid of this.pids) {
      const m = readProcMemory(pid);
      if (!m) continue;
      tree += m.rss;
      this.peak = Math.max(this.peak, m.rss);
      const seen = this.perPid.get(pid) ?? { name: processName(pid), peakRssBytes: 0 };
      seen.peakRssBytes = Math.max(seen.peakRssBytes, m.rss);
      this.perPid.set(pid, seen);
    }
    this.peakTree = Math.max(this.peakTree, tree);
    this.samples++;
  }
}

function processName(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}
