/**
 * Every setting the code reads, learned by running each config loader with an env that hears
 * what it is asked for (common/config.ts ON_SETTING_READ): the list the configuration reference
 * and compose tests check against, taken from the code rather than from a document.
 */
import { ConfigError, ON_SETTING_READ, type SettingListener } from '../../common/config.js';
import { loadBatchConfig } from '../../client/batch-config.js';
import { loadClientConfig } from '../../client/client-config.js';
import { loadDashboardConfig } from '../../dashboard/dashboard-config.js';
import { loadExecutorConfig } from '../../executor/config.js';
import { loadFileserverConfig } from '../../fileserver/config.js';
import { loadSchedulerConfig } from '../../scheduler/config.js';
import { loadStackConfig } from '../../stack/stack-config.js';

/** Read outside the loaders' typed readers: LOG_LEVEL by createLogger and EnvReader.done, DASHBOARD_PORT by parseDashboardPort (`off` and free-port rules). */
const READ_DIRECTLY = ['LOG_LEVEL', 'DASHBOARD_PORT'];

export interface SettingRead {
  /** Which loaders read it. */
  readers: Set<string>;
  /** The defaults they gave (undefined: required, optional or computed from other settings). */
  fallbacks: unknown[];
}

export function settingsReadByCode(): Map<string, SettingRead> {
  const seen = new Map<string, SettingRead>();
  const loaders: [string, (env: Record<string, string | undefined>) => unknown][] = [
    ['executor', loadExecutorConfig],
    ['scheduler', loadSchedulerConfig],
    ['fileserver', loadFileserverConfig],
    ['dashboard', loadDashboardConfig],
    ['start', (env) => loadStackConfig(env, 8080)],
    ['batch', loadBatchConfig],
    ['enqueue', loadClientConfig],
  ];
  for (const [reader, load] of loaders) {
    const listener: SettingListener = (name, fallback) => {
      const entry = seen.get(name) ?? { readers: new Set<string>(), fallbacks: [] };
      entry.readers.add(reader);
      if (fallback !== undefined && !entry.fallbacks.some((f) => JSON.stringify(f) === JSON.stringify(fallback))) entry.fallbacks.push(fallback);
      seen.set(name, entry);
    };
    const env = { [ON_SETTING_READ]: listener } as unknown as Record<string, string | undefined>;
    try {
      load(env);
    } catch (err) {
      // Required settings (UPLOAD_TOKEN) are missing on purpose: every name was heard before the throw.
      if (!(err instanceof ConfigError)) throw err;
    }
  }
  for (const name of READ_DIRECTLY) seen.set(name, seen.get(name) ?? { readers: new Set(['all']), fallbacks: [] });
  return seen;
}
