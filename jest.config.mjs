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
      // Each app under test holds a pool; a slow CI disk makes the first database copy slow.
      testTimeout: 30000,
    },
  ],
};
