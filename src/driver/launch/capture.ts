/** A script's captured output: up to a cap, the rest counted and dropped. */

/** Keeps the first bytes of a stream up to the cap, or (keepTail) the first half and the last half. */
export class Capture {
  private readonly head: Buffer[] = [];
  private headBytes = 0;
  private tail: Buffer[] = [];
  private tailBytes = 0;
  total = 0;

  constructor(
    private readonly cap: number,
    private readonly keepTail: boolean,
  ) {}

  push(chunk: Buffer): void {
    this.total += chunk.length;
    const headCap = this.keepTail ? Math.floor(this.cap / 2) : this.cap;
    if (this.headBytes < headCap) {
      const take = chunk.subarray(0, headCap - this.headBytes);
      this.head.push(take);
      this.headBytes += take.length;
      chunk = chunk.subarray(take.length);
    }
    if (!this.keepTail || chunk.length === 0) return;
    const tailCap = this.cap - headCap;
    this.tail.push(chunk);
    this.tailBytes += chunk.length;
    while (this.tailBytes - (this.tail[0]?.length ?? 0) >= tailCap && this.tail.length > 1) {
      this.tailBytes -= (this.tail.shift() as Buffer).length;
    }
  }

  get truncated(): boolean {
    return this.total > this.cap;
  }

  text(): string {
    const head = Buffer.concat(this.head).toString('utf8');
    if (!this.keepTail || this.tail.length === 0) return head;
    let tail = Buffer.concat(this.tail);
    const tailCap = this.cap - Math.floor(this.cap / 2);
    const cut = this.total - this.headBytes - Math.min(tail.length, tailCap);
    if (tail.length > tailCap) tail = tail.subarray(tail.length - tailCap);
    return cut > 0 ? `${head}\n[... ${cut} bytes cut ...]\n${tail.toString('utf8')}` : head + tail.toString('utf8');
  }
}
