// Jest runs in ESM mode (`node --experimental-vm-modules`): Nest 12's packages are ESM-only
// and Jest 30 cannot require() them. @swc/jest compiles TypeScript with decorator metadata
// and no type check (that is `npm run typecheck`'s job).
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
    },
    module: { type: 'es6' },
  },
];

const common = {
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': swc },
  testEnvironment: 'node',
};

export default {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/src/**/*.spec.ts'] },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
  // For the e2e tests: each app under test holds a pool, and a slow CI disk makes the first
  // database copy slow. Jest takes testTimeout here only: set in a project, it was ignored and
  // every test had the default 5 s (seen failing a 7 s test; suites failed under load).
  testTimeout: 30000,
};
