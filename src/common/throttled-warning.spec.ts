import { ThrottledWarning } from './throttled-warning';

describe('ThrottledWarning', () => {
  function setUp() {
    const logged: string[] = [];
    const clock = { now: 1_000_000 };
    const warning = new ThrottledWarning(
      { warn: (message: string) => logged.push(message) },
      60_000,
      () => clock.now,
    );
    return { warning, logged, clock };
  }

  it('logs the first warning at once and at most one per interval after it', () => {
    const { warning, logged, clock } = setUp();
    warning.warn(() => 'Redis failed');
    clock.now += 59_999;
    warning.warn(() => 'Redis failed');
    warning.warn(() => 'Redis failed');
    expect(logged).toEqual(['Redis failed']);

    clock.now += 1;
    warning.warn(() => 'Redis failed again');
    expect(logged).toEqual([
      'Redis failed',
      'Redis failed again (2 more like it since the last one)',
    ]);
  });

  it('builds the message only when it is logged', () => {
    const { warning } = setUp();
    let built = 0;
    const message = () => `failure ${++built}`;
    warning.warn(message);
    warning.warn(message);
    warning.warn(message);
    expect(built).toBe(1);
  });

  it('says nothing of left-out warnings when there were none', () => {
    const { warning, logged, clock } = setUp();
    warning.warn(() => 'one');
    clock.now += 60_000;
    warning.warn(() => 'two');
    expect(logged).toEqual(['one', 'two']);
  });
});
