/** A Set that forgets its oldest entries beyond `max`: for ids that only matter for a while. */
export class BoundedSet<T> {
  private readonly items = new Set<T>();

  constructor(private readonly max: number) {}

  has(item: T): boolean {
    return this.items.has(item);
  }

  add(item: T): void {
    this.items.add(item);
    // Insertion-ordered: the oldest go first.
    for (const old of this.items) {
      if (this.items.size <= this.max) break;
      this.items.delete(old);
    }
  }
}
