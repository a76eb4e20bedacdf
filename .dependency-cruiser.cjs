/**
 * The layers of the code, checked by `npm run check:deps` (part of `npm test`). Arrows run down:
 *
 *   cli, bench, test            entry files and harnesses (bench and test may reach anything they measure)
 *   client, dashboard, stack    what the commands use: talk to Redis, show state, start processes
 *   scheduler | executor | fileserver   the services, which never import one another
 *   transport                   acknowledged Redis Streams
 *   protocol                    the wire contract
 *   common                      config, errors, keys, logging: imports no other folder
 *
 * What two services share moves down into protocol/ or common/. docs/architecture.md draws this.
 */
const SERVICES = '^(scheduler|executor|fileserver)/';
const ABOVE_SERVICES = '^(client|dashboard|stack|cli|bench|test)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'a cycle makes load order matter and hides a missing layer (type-only imports load nothing, so they cannot make one)', from: {}, to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } } },
    {
      name: 'common-imports-no-other-folder',
      severity: 'error',
      from: { path: '^common/' },
      to: { path: '^(protocol|transport|scheduler|executor|fileserver|client|dashboard|stack|cli|bench|test|bin)/' },
    },
    { name: 'protocol-only-common', severity: 'error', from: { path: '^protocol/' }, to: { path: '^(transport|scheduler|executor|fileserver|client|dashboard|stack|cli|bench|test|bin)/' } },
    { name: 'transport-only-protocol-common', severity: 'error', from: { path: '^transport/' }, to: { path: `${SERVICES}|${ABOVE_SERVICES}|^bin/` } },
    {
      name: 'services-apart',
      severity: 'error',
      comment: 'scheduler, executor and fileserver never import one another: what two share moves to protocol/ or common/',
      from: { path: '^(scheduler|executor|fileserver)/' },
      to: { path: SERVICES, pathNot: '^$1/' },
    },
    { name: 'services-below-commands', severity: 'error', from: { path: SERVICES }, to: { path: `${ABOVE_SERVICES}|^bin/` } },
    {
      name: 'client-no-service-internals',
      severity: 'error',
      comment: 'the clients read Redis through common/ and protocol/, not through a service\'s modules',
      from: { path: '^client/' },
      to: { path: `${SERVICES}|^(dashboard|cli|bench|test)/` },
    },
    {
      name: 'stack-starts-processes-only',
      severity: 'error',
      comment: 'stack/ starts processes with env vars; their defaults live in common/defaults.ts, not in a service\'s config',
      from: { path: '^stack/' },
      to: { path: `${SERVICES}|^(client|dashboard|cli|bench|test)/` },
    },
    { name: 'dashboard-reads-like-a-client', severity: 'error', from: { path: '^dashboard/' }, to: { path: `${SERVICES}|^(stack|cli|bench|test)/` } },
    {
      name: 'cli-no-service-internals',
      severity: 'error',
      comment: 'entry files of the commands: clients and stack; of the dashboard only its config (start checks it before anything runs)',
      from: { path: '^cli/' },
      to: { path: `${SERVICES}|^(bench|test)/|^dashboard/(?!dashboard-config\\.ts$)` },
    },
    { name: 'bench-not-test', severity: 'error', from: { path: '^bench/' }, to: { path: '^(cli|test)/' } },
    { name: 'not-to-unresolvable', severity: 'error', from: {}, to: { couldNotResolve: true } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js', '.json'] },
  },
};
