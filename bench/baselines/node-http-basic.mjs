// Baseline for `npm run bench`: the floor of "HTTP Basic on Node". A bare node:http server that
// answers GET /odata/v1 with the same service document as Gatehouse, after a hand-written
// Basic check against one in-memory key pair (crypto.timingSafeEqual), 401 with a challenge
// otherwise. No framework, no database, no routing beyond one path.
//
//   PORT                 port to listen on (127.0.0.1)
//   BASELINE_PUBLIC_KEY  the accepted user name
//   BASELINE_SECRET_KEY  the accepted password

import { timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';

const port = Number(process.env.PORT);
const publicKey = Buffer.from(process.env.BASELINE_PUBLIC_KEY ?? '', 'utf8');
const secretKey = Buffer.from(process.env.BASELINE_SECRET_KEY ?? '', 'utf8');
if (!port || !publicKey.length || !secretKey.length) {
  process.stderr.write('PORT, BASELINE_PUBLIC_KEY and BASELINE_SECRET_KEY are required\n');
  process.exit(2);
}

const JSON_TYPE = 'application/json; odata.metadata=minimal; charset=utf-8';
const ENTITY_SETS = ['Customers', 'Orders', 'Products'];
const CHALLENGE = 'Basic realm="Gatehouse", charset="UTF-8"';

/** Length-independent comparison: a length mismatch still costs one comparison. */
function safeEqual(given, expected) {
  const same = given.length === expected.length;
  return timingSafeEqual(same ? given : expected, expected) && same;
}

function authorized(header) {
  if (typeof header !== 'string' || !/^basic /i.test(header)) return false;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64');
  const colon = decoded.indexOf(0x3a);
  if (colon < 0) return false;
  // Both comparisons always run, so the answer time does not say which part was wrong.
  const userOk = safeEqual(decoded.subarray(0, colon), publicKey);
  const secretOk = safeEqual(decoded.subarray(colon + 1), secretKey);
  return userOk && secretOk;
}

function send(res, status, headers, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const server = createServer((req, res) => {
  const path = req.url.split('?', 1)[0];
  if (req.method !== 'GET' || (path !== '/odata/v1' && path !== '/odata/v1/')) {
    return send(
      res,
      404,
      { 'content-type': 'application/json; charset=utf-8' },
      {
        error: { code: 'NotFound', message: 'Not Found' },
      },
    );
  }
  if (!authorized(req.headers.authorization)) {
    return send(
      res,
      401,
      { 'content-type': 'application/json; charset=utf-8', 'www-authenticate': CHALLENGE },
      { error: { code: 'InvalidCredentials', message: 'Invalid credentials.' } },
    );
  }
  send(
    res,
    200,
    { 'content-type': JSON_TYPE },
    {
      '@odata.context': `http://${req.headers.host}/odata/v1/$metadata`,
      value: ENTITY_SETS.map((name) => ({ name, kind: 'EntitySet', url: name })),
    },
  );
});

server.listen(port, '127.0.0.1');
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => server.close(() => process.exit(0)).closeAllConnections());
}
