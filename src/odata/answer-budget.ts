import { BadRequestException } from '@nestjs/common';
import { Row } from './odata-row';

/**
 * Counts the entities an answer will hold, as it will be written: an entity appears once
 * under every parent it is expanded under, and so does everything expanded under it. The
 * queries load each level once for all its parents, so the rows in memory stay few, but the
 * answer multiplies at every hop back (`Customers?$expand=Orders($expand=Customer($expand=
 * Orders(…)))`): found by review, 20 customers and 8 levels took the server past 2 GB and
 * ended in a 500. Counting level by level, from the loaded rows, refuses such an answer
 * before the next level is read and before any of it is serialized.
 */
export class AnswerBudget {
  /** How many times each loaded row will appear in the answer. */
  private readonly appearances = new WeakMap<Row, number>();
  private entities = 0;

  constructor(private readonly limit: number) {}

  /** How many more entities the answer may hold. */
  get left(): number {
    return this.limit - this.entities;
  }

  /** The entities at the top of the answer (the page, or the one entity), once each. */
  top(rows: Row[]): void {
    for (const row of rows) this.appearances.set(row, 1);
    this.spend(rows.length);
  }

  /** `related` is written under `parent`: each of them as many times as the parent is. */
  attach(parent: Row, related: Row[]): void {
    if (related.length === 0) return;
    const times = this.appearances.get(parent) ?? 1;
    for (const row of related) {
      this.appearances.set(row, (this.appearances.get(row) ?? 0) + times);
    }
    this.spend(times * related.length);
  }

  private spend(entities: number): void {
    this.entities += entities;
    if (this.entities > this.limit) {
      throw new BadRequestException({
        code: 'InvalidQuery',
        message:
          `The answer would hold more than ${this.limit} entities (an entity counts each time ` +
          'it appears, under every parent it is expanded under): expand fewer levels, or ' +
          'narrow them with $filter or $top, at the top or nested in $expand.',
      });
    }
  }
}
