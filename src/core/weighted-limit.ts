/**
 * Bounds the total weight of what runs at once (p-limit bounds the count): a task of weight w
 * starts once the weights running add up to at most `capacity - w`, in the order tasks came. One
 * heavier than the capacity runs alone. Used for DescribeTasks, whose cost is its number of tasks.
 */
export class WeightedLimit {
  private running = 0;
  private readonly waiting: Array<{ weight: number; start: () => void }> = [];

  constructor(private readonly capacity: number) {
    if (!(capacity > 0)) throw new RangeError(`capacity must be positive, got ${capacity}`);
  }

  async run<T>(weight: number, task: () => Promise<T>): Promise<T> {
    if (!Number.isFinite(weight)) throw new RangeError(`weight must be a finite number, got ${weight}`);
    const share = Math.min(Math.max(weight, 0), this.capacity);
    if (this.waiting.length > 0 || this.running + share > this.capacity) {
      await new Promise<void>((start) => this.waiting.push({ weight: share, start }));
    } else {
      this.running += share;
    }
    try {
      return await task();
    } finally {
      this.running -= share;
      this.startWaiting();
    }
  }

  /** Weight running now (for tests). */
  get inUse(): number {
    return this.running;
  }

  private startWaiting(): void {
    // First come, first served: a heavy task at the head is not overtaken by lighter ones behind it.
    for (let next = this.waiting[0]; next !== undefined && this.running + next.weight <= this.capacity; next = this.waiting[0]) {
      this.waiting.shift();
      this.running += next.weight;
      next.start();
    }
  }
}
