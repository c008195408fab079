/** A one-line progress bar on stderr, drawn only on a terminal so logs and CI output stay clean. */
export class ProgressBar {
  private done = 0;
  private lastDraw = 0;
  private readonly enabled: boolean;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly unit: 'bytes' | 'items' = 'bytes',
    stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.stream = stream;
    this.enabled = Boolean(stream.isTTY) && process.env.CI === undefined;
  }
  private readonly stream: NodeJS.WriteStream;

  tick(n: number): void {
    this.done += n;
    const now = Date.now();
    if (this.enabled && (now - this.lastDraw > 100 || this.done >= this.total)) {
      this.lastDraw = now;
      this.draw();
    }
  }

  finish(): void {
    if (this.enabled) {
      this.done = this.total;
      this.draw();
      this.stream.write('\n');
    }
  }

  private draw(): void {
    const width = 30;
    const frac = this.total > 0 ? Math.min(1, this.done / this.total) : 1;
    const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '.');
    const amount = this.unit === 'bytes' ? `${mb(this.done)}/${mb(this.total)} MB` : `${this.done}/${this.total}`;
    this.stream.write(`\r${this.label} [${bar}] ${(frac * 100).toFixed(0).padStart(3)}% ${amount}`);
  }
}

const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
