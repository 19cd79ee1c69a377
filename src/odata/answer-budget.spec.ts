import { BadRequestException } from '@nestjs/common';
import { AnswerBudget } from './answer-budget';

describe('AnswerBudget', () => {
  it('counts an entity under every parent it appears under, and what is under it as often', () => {
    // Two orders of one customer, each expanded with that customer, and the customer with
    // its three orders again: 2 + 2 × (1 + 3) = 10 entities in the answer.
    const budget = new AnswerBudget(10);
    const orders = [{ Id: 1 }, { Id: 2 }];
    budget.top(orders);
    const customer = { Id: 7 };
    for (const order of orders) budget.attach(order, [customer]);
    const again = [{ Id: 1 }, { Id: 2 }, { Id: 3 }];
    expect(budget.left).toBe(6);
    expect(() => budget.attach(customer, again)).not.toThrow();
    expect(budget.left).toBe(0);
    // One more level: the first of those orders appears twice, so one entity under it is 2.
    expect(() => budget.attach(again[0], [{ Id: 99 }])).toThrow(BadRequestException);
  });

  it('refuses with 400 InvalidQuery once the limit is passed, not when it is reached', () => {
    const budget = new AnswerBudget(3);
    const parent = {};
    budget.top([{}, {}, parent]);
    let error: unknown;
    try {
      budget.attach(parent, [{}]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BadRequestException);
    const response = (error as BadRequestException).getResponse() as Record<string, string>;
    expect(response.code).toBe('InvalidQuery');
    expect(response.message).toContain('more than 3 entities');
    expect(response.message).toContain('$expand');
  });

  it('refuses a top level larger than the limit', () => {
    expect(() => new AnswerBudget(2).top([{}, {}, {}])).toThrow(BadRequestException);
  });
});
