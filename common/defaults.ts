/**
 * The defaults that more than one process or command reads, in one table: each config loader
 * (executor, scheduler, fileserver, dashboard, stack, clients) takes them from here instead of
 * writing its own copy. A setting read by one process only keeps its default in that process's
 * config.ts; test/config-reference.test.ts checks every default against docs/configuration.md.
 */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_QUEUE_NAME = 'images';
/** The fileserver's bind address and port (PORT, HOST); `npm start` and `enqueue` use them too. */
export const DEFAULT_FILESERVER_HOST = '127.0.0.1';
export const DEFAULT_FILESERVER_PORT = 8080;
export const DEFAULT_FILESERVER_URL = `http://${DEFAULT_FILESERVER_HOST}:${DEFAULT_FILESERVER_PORT}`;
export const DEFAULT_UPLOAD_DIR = './uploads';
export const DEFAULT_IMAGES_DIR = './images';
/** Port ranges an executor offers for services; Mesos agents offer this range by default too. */
export const DEFAULT_EXECUTOR_PORTS = '31000-32000';
export const DEFAULT_EXECUTOR_ADVERTISE_HOST = '127.0.0.1';
