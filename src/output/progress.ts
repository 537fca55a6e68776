/** A progress line on a terminal (stderr); silent for cron, pipes and --json. */
export class Progress {
  private last = 0
  private readonly enabled: boolean

  constructor(
    private readonly label: string,
    private readonly total: number,
    options: {quiet?: boolean} = {},
  ) {
    this.enabled = Boolean(process.stderr.isTTY) && !options.quiet && total > 0
  }

  update(done: number): void {
    if (!this.enabled) return
    const now = Date.now()
    if (now - this.last < 100 && done < this.total) return
    this.last = now
    const width = 30
    const filled = Math.round((width * done) / this.total)
    process.stderr.write(`\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${this.total}`)
  }

  finish(): void {
    if (this.enabled) process.stderr.write('\n')
  }
}
