// Bench-only entry point: the production build of Gatehouse with its authentication switched
// off, for the "unauthenticated route" scenarios of `npm run bench`, which measure what
// authentication adds to a guarded route by serving that same route without it.
//
// The app gets no flag for this: this script replaces ApiKeyGuard's canActivate in the built
// module before dist/src/main.js is loaded. Node's module cache hands main.js (through
// app.module and auth.module) the same, patched class, so the app starts exactly as `npm start`
// does, with the same configuration, database, interceptors, filters and rate-limit guard, minus
// the API-key guard's work: no settings read, no lock lookup, no user lookup, no secret check,
// no last-request write. The rate-limit guard lets requests without `request.user` through, as
// it does for @Public() routes.
//
// SIGUSR2 switches the guard's real canActivate back on, and the next SIGUSR2 off again: the
// paired scenario measures the hot key and the unauthenticated route in turn, a few seconds
// each, on this one process (same machine minute, same JIT state), which is far steadier than
// comparing two processes measured minutes apart. The switch costs one branch per request.
//
// Takes Gatehouse's usual environment (bench/run.mjs gives it the main instance's, but with locks
// and bans at their defaults, on).
// GATEHOUSE_DIST, optional, points at another build's dist/src.

'use strict';

const { join, resolve } = require('node:path');

const dist = resolve(process.env.GATEHOUSE_DIST ?? join(__dirname, '..', '..', 'dist', 'src'));
const { ApiKeyGuard } = require(join(dist, 'auth', 'api-key.guard.js'));

// Fail loudly if the build no longer looks like this: a silently unpatched guard would make
// "unauthenticated" measure authentication (its probe, without credentials, would get 401).
const realCanActivate = ApiKeyGuard?.prototype?.canActivate;
if (typeof realCanActivate !== 'function') {
  process.stderr.write(`no ApiKeyGuard.prototype.canActivate in ${dist}/auth/api-key.guard.js\n`);
  process.exit(2);
}
let guardOn = false;
// Off, the guard answers synchronously, as a guard that has nothing to do can: Nest awaits only
// a guard's promise, so "without authentication" pays for no promise of the guard's either.
ApiKeyGuard.prototype.canActivate = function canActivate(context) {
  return guardOn ? realCanActivate.call(this, context) : true;
};
process.on('SIGUSR2', () => {
  guardOn = !guardOn;
});

require(join(dist, 'main.js'));
