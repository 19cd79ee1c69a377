import { createServer } from 'node:net';
import { databaseProblem, listenProblem, serviceUrl } from './startup-checks';

describe('startup checks', () => {
  it('find nothing wrong with a free port', async () => {
    expect(await listenProblem('127.0.0.1', 0)).toBeUndefined();
  });

  it('name PORT for a port in use', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = taken.address() as { port: number };
      expect(await listenProblem('127.0.0.1', port)).toBe(
        `PORT (${port}): 127.0.0.1:${port} is already in use`,
      );
    } finally {
      taken.close();
    }
  });

  it('name HOST for an address of another machine', async () => {
    expect(await listenProblem('192.0.2.1', 0)).toBe(
      'HOST (192.0.2.1): not an address of this machine',
    );
  });

  it('give up on a refused database connection after the attempts, with its message', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as { port: number };
    await new Promise((resolve) => closed.close(resolve));
    const started = Date.now();
    const problem = await databaseProblem(`postgres://u:secret-pw@127.0.0.1:${port}/db`, {
      attempts: 2,
      delayMs: 200,
    });
    expect(problem).toMatch(/ECONNREFUSED/);
    expect(problem).not.toContain('secret-pw');
    expect(Date.now() - started).toBeGreaterThanOrEqual(200); // tried again once
  });

  it('write an IPv6 host in brackets', () => {
    expect(serviceUrl('https', '::1', 3000)).toBe('https://[::1]:3000');
    expect(serviceUrl('http', '127.0.0.1', 3000)).toBe('http://127.0.0.1:3000');
  });
});
