// Jest runs the TypeScript sources as ESM (the @actions/* packages are ESM-only).
// Type checking is `npm run typecheck`; ts-jest only transpiles here.
const transform = {
  '^.+\\.ts$': ['ts-jest', { useESM: true, diagnostics: false }]
}
const common = {
  extensionsToTreatAsEsm: ['.ts'],
  resolver: 'ts-jest-resolver',
  transform,
  testEnvironment: 'node'
}

export default {
  // Integration tests share one Nix store and start simulated fleets: scripts/test.sh runs that
  // project with --runInBand; unit tests run in parallel.
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/test/unit/**/*.test.ts']
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts']
    }
  ]
}
