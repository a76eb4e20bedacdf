/**
 * The public factory. Kept apart from Client so its emitted .d.ts names only the public types:
 * a user's build with skipLibCheck off never has to read BullMQ's or ioredis's declarations.
 */
import { loadClientConfig, type ClientConfig } from '../client/client-config.js';
import { ConfigError } from '../common/config.js';
import { Client } from './client.js';
import { ClientConfigError } from './errors.js';
import type { ClientOptions, OfferInvertClient } from './types.js';

/**
 * A client for the stack's queue. Options left out come from the environment as for the CLIs
 * (REDIS_URL, QUEUE_NAME, IMAGES_BASE_URL/FILESERVER_URL); bad settings throw ClientConfigError.
 */
export function createClient(options: ClientOptions = {}): OfferInvertClient {
  const env: Record<string, string | undefined> = { ...process.env };
  if (options.redisUrl !== undefined) env.REDIS_URL = options.redisUrl;
  if (options.queueName !== undefined) env.QUEUE_NAME = options.queueName;
  if (options.imagesBaseUrl !== undefined) env.IMAGES_BASE_URL = options.imagesBaseUrl;
  let config: Readonly<ClientConfig>;
  try {
    config = loadClientConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) throw new ClientConfigError(err.message, { cause: err });
    throw err;
  }
  return new Client(config);
}
