/** A bench section: one issue's set of figures. Register new ones in bench/run.ts. */
import type { BenchContext } from './context.ts';
import type { SectionResult } from './report.ts';

export interface Section {
  /** short id for `--only=` and the JSON file */
  id: string;
  title: string;
  run(ctx: BenchContext): Promise<SectionResult>;
}
