import net from 'node:net';

/**
 * A TCP proxy in front of the test's PostgreSQL that can stop passing bytes while keeping every
 * connection open: a database server that has stopped answering (frozen, or its network gone
 * without a reset), which refusing connections does not imitate.
 */
export interface FreezableProxy {
  /** `databaseUrl` with the proxy's host and port. */
  url: string;
  /**
   * Holds every byte either side sends, as the kernel does for a stopped (`kill -STOP`)
   * server: a statement sent meanwhile reaches the server only at `thaw()`, and is answered
   * after it.
   */
  freeze(): void;
  /** Passes on what was held, in order, and then everything as before. */
  thaw(): void;
  close(): Promise<void>;
}

export async function startFreezableProxy(databaseUrl: string): Promise<FreezableProxy> {
  const target = new URL(databaseUrl);
  const sockets = new Set<net.Socket>();
  let held: [net.Socket, Buffer][] | undefined;
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ]) {
      sockets.add(from);
      from.on('data', (chunk: Buffer) => {
        if (held) held.push([to, chunk]);
        else to.write(chunk);
      });
      from.on('error', () => to.destroy());
      from.on('close', () => {
        sockets.delete(from);
        to.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(databaseUrl);
  url.hostname = '127.0.0.1';
  url.port = String((server.address() as net.AddressInfo).port);
  return {
    url: url.toString(),
    freeze: () => {
      held ??= [];
    },
    thaw: () => {
      const chunks = held ?? [];
      held = undefined;
      for (const [to, chunk] of chunks) if (!to.destroyed) to.write(chunk);
    },
    close: async () => {
      held = undefined;
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
