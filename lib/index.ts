/** `import { createClient } from 'offer-invert'`: docs/library.md. */
export { createClient } from './create-client.js';
export { ClientConfigError, WaitAbortedError, WaitTimeoutError } from './errors.js';
export type * from './types.js';
