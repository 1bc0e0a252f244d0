// The suite runs on Node 24, installed from the npm registry as the `node` devDependency,
// which npm puts first on the PATH of its scripts. Fail early and say so when that did not happen.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(
    `baton: the tests need Node 24, but this is Node ${process.versions.node}.\n` +
      'Run them through npm so the `node` devDependency comes first on the PATH: npm ci && npm test',
  );
  process.exit(1);
}
