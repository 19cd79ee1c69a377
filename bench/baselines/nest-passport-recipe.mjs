// Baseline for `npm run bench`: the stock NestJS-on-Fastify Passport recipe. One controller
// route, GET /odata/v1, behind AuthGuard('basic') (passport-http's BasicStrategy through
// @nestjs/passport) with one in-memory user, returning the same service document as Gatehouse.
// What Nest + Passport cost before any database or API-key logic.
//
//   PORT                 port to listen on (127.0.0.1)
//   BASELINE_PUBLIC_KEY  the accepted user name
//   BASELINE_SECRET_KEY  the accepted password
//
// Plain JS, so no decorator syntax: the decorators are applied by hand, which is what the
// TypeScript output does too. There is no constructor injection, so no design:paramtypes.

import 'reflect-metadata';

import { Controller, Get, Header, Injectable, Module, Req, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AuthGuard, PassportModule, PassportStrategy } from '@nestjs/passport';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { timingSafeEqual } from 'node:crypto';
import { BasicStrategy as HttpBasicStrategy } from 'passport-http';

const port = Number(process.env.PORT);
const publicKey = Buffer.from(process.env.BASELINE_PUBLIC_KEY ?? '', 'utf8');
const secretKey = Buffer.from(process.env.BASELINE_SECRET_KEY ?? '', 'utf8');
if (!port || !publicKey.length || !secretKey.length) {
  process.stderr.write('PORT, BASELINE_PUBLIC_KEY and BASELINE_SECRET_KEY are required\n');
  process.exit(2);
}

const JSON_TYPE = 'application/json; odata.metadata=minimal; charset=utf-8';
const ENTITY_SETS = ['Customers', 'Orders', 'Products'];

function safeEqual(given, expected) {
  const same = given.length === expected.length;
  return timingSafeEqual(same ? given : expected, expected) && same;
}

// @Injectable() class BasicStrategy extends PassportStrategy(HttpBasicStrategy, 'basic')
class BasicStrategy extends PassportStrategy(HttpBasicStrategy, 'basic') {
  validate(username, password) {
    const userOk = safeEqual(Buffer.from(username, 'utf8'), publicKey);
    const secretOk = safeEqual(Buffer.from(password, 'utf8'), secretKey);
    return userOk && secretOk ? { publicKey: username } : false;
  }
}
Injectable()(BasicStrategy);

// @Controller('odata/v1') class ODataController { @Get() @UseGuards(...) @Header(...) ... }
class ODataController {
  serviceDocument(request) {
    return {
      '@odata.context': `${request.protocol}://${request.host}/odata/v1/$metadata`,
      value: ENTITY_SETS.map((name) => ({ name, kind: 'EntitySet', url: name })),
    };
  }
}
Reflect.decorate(
  [Get(), UseGuards(AuthGuard('basic')), Header('Content-Type', JSON_TYPE)],
  ODataController.prototype,
  'serviceDocument',
  Object.getOwnPropertyDescriptor(ODataController.prototype, 'serviceDocument'),
);
Req()(ODataController.prototype, 'serviceDocument', 0);
Controller('odata/v1')(ODataController);

// @Module({ imports: [PassportModule], controllers: [...], providers: [...] }) class AppModule {}
class AppModule {}
Module({
  imports: [PassportModule],
  controllers: [ODataController],
  providers: [BasicStrategy],
})(AppModule);

const app = await NestFactory.create(
  AppModule,
  new FastifyAdapter({ routerOptions: { ignoreTrailingSlash: true } }),
  { logger: false, abortOnError: false },
);
await app.listen(port, '127.0.0.1');
// Not enableShutdownHooks(): it re-raises the signal after closing, and the bench reports
// any exit other than code 0 as a failure.
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => app.close().then(() => process.exit(0)));
}
