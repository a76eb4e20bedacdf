/** Acknowledged delivery over a real Redis stream: redelivery, restart, poison messages. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { silentLogger } from '../common/log.js';
import { sendToStream, StreamInbox, type BatchHandler } from '../transport/stream-inbox.js';
import { freezableProxy } from './helpers/freezable-proxy.js';
import { freshQueueName, testRedisUrl } from './helpers/redis.js';

describe('StreamInbox', () => {
  let url: string;
  let redis: Redis;
  const connections: Redis[] = [];
  const connect = () => {
    const c = new Redis(url, { maxRetriesPerRequest: null });
    connections.push(c);
    return c;
  };
  before(async () => {
    url = await testRedisUrl();
    redis = connect();
  });
  after(() => connections.forEach((c) => c.disconnect()));

  const inbox = (stream: string, handler: BatchHandler, consumer = 'c') =>
    new StreamInbox(connect(), { stream, group: 'g', consumer, blockMs: 100 }, handler, silentLogger);
  const until = async (ok: () => boolean | Promise<boolean>) => {
    for (let i = 0; i < 300 && !(await ok()); i++) await new Promise((r) => setTimeout(r, 20));
  };
  const pending = async (stream: string) => ((await redis.xpending(stream, 'g')) as [number])[0];

  it('delivers what was sent while no consumer ran, and acknowledges it after handling', async () => {
    const stream = freshQueueName('inbox');
    const first = inbox(stream, async () => undefined);
    await first.ensureGroup();
    await sendToStream(redis, stream, [Buffer.from('one')]);
    await sendToStream(redis, stream, [Buffer.from('two')]);
    const seen: string[] = [];
    const consumer = inbox(stream, async (entries) => void seen.push(...entries.map((e) => e.payload.toString())));
    consumer.start();
    await until(() => seen.length === 2);
    await consumer.close();
    assert.deepEqual(seen, ['one', 'two']);
    assert.equal(await pending(stream), 0);
    assert.equal(await redis.xlen(stream), 0, 'handled entries are deleted');
  });

  it('a batch whose handler failed is delivered again, also to a restarted consumer', async () => {
    const stream = freshQueueName('inbox');
    await sendToStream(redis, stream, [Buffer.from('job')]);
    let calls = 0;
    const crashing = inbox(stream, async () => {
      calls++;
      throw new Error('handler crashed');
    });
    crashing.start();
    await until(() => calls >= 1);
    await crashing.close();
    assert.equal(await pending(stream), 1, 'not acknowledged');
    const seen: string[] = [];
    const restarted = inbox(stream, async (entries) => void seen.push(...entries.map((e) => e.payload.toString())));
    restarted.start();
    await until(() => seen.length === 1);
    await restarted.close();
    assert.deepEqual(seen, ['job']);
    assert.equal(await pending(stream), 0);
  });

  it('a poison message is dropped after repeated failures; the others in its batch are handled', async () => {
    const stream = freshQueueName('inbox');
    const handled: string[] = [];
    const consumer = inbox(stream, async (entries) => {
      if (entries.some((e) => e.payload.toString() === 'poison')) throw new Error('cannot handle poison');
      handled.push(...entries.map((e) => e.payload.toString()));
    });
    await consumer.ensureGroup();
    for (const text of ['a', 'poison', 'b']) await sendToStream(redis, stream, [Buffer.from(text)]);
    consumer.start();
    await until(async () => handled.length === 2 && (await pending(stream)) === 0);
    await sendToStream(redis, stream, [Buffer.from('after')]);
    await until(() => handled.includes('after'));
    await consumer.close();
    assert.deepEqual(handled, ['a', 'b', 'after']);
    assert.equal(await pending(stream), 0);
  });

  it('a new reader takes over what another consumer read but never acknowledged', async () => {
    const stream = freshQueueName('inbox');
    let dead = 0;
    const dying = inbox(stream, async () => {
      dead++;
      throw new Error('about to be killed');
    }, 'old-leader');
    await dying.ensureGroup();
    await sendToStream(redis, stream, [Buffer.from('x'), Buffer.from('y')]);
    dying.start();
    await until(() => dead >= 1);
    await dying.close();
    const seen: string[] = [];
    const successor = inbox(stream, async (entries) => void seen.push(...entries.map((e) => e.payload.toString())), 'new-leader');
    assert.equal(await successor.claimAbandoned(0), 2);
    successor.start();
    await until(() => seen.length === 2);
    await successor.close();
    assert.deepEqual(seen, ['x', 'y']);
    assert.equal(await pending(stream), 0);
  });

  it('a read stuck on a dead connection is abandoned and the inbox reads again over a new one', async () => {
    const stream = freshQueueName('inbox');
    const proxy = await freezableProxy(Number(new URL(url).port));
    const seen: string[] = [];
    const c = new Redis(`redis://127.0.0.1:${proxy.port}`, { maxRetriesPerRequest: null, retryStrategy: () => 50 });
    c.on('error', () => undefined);
    connections.push(c);
    const consumer = new StreamInbox(c, { stream, group: 'g', consumer: 'c', blockMs: 100, readGraceMs: 300 }, async (entries) => {
      seen.push(...entries.map((e) => e.payload.toString()));
    }, silentLogger);
    consumer.start();
    await sendToStream(redis, stream, [Buffer.from('before')]);
    await until(() => seen.length === 1);
    proxy.freezeExisting(); // the link dies silently: no FIN, no RST, nothing arrives
    await sendToStream(redis, stream, [Buffer.from('during')]);
    let sawStall = false;
    await until(() => (sawStall ||= consumer.stalledForMs() > 0) && seen.includes('during'));
    await consumer.close();
    await proxy.close();
    assert.ok(sawStall, 'the stall was visible to the owner');
    assert.deepEqual(seen, ['before', 'during']);
  });
});
