import { createClient } from 'offer-invert';

const client = createClient(); // REDIS_URL and QUEUE_NAME as for the CLIs
const { jobs, rejected } = await client.enqueue(['moon.png', 'sunset.jpg', 'not a url']);
for (const r of rejected) console.error(`skipped ${r.text}: ${r.reason}`);
for (const result of await client.waitFor(jobs, { timeoutMs: 60_000 })) {
  console.log(result.state === 'completed' ? `${result.url} -> ${result.output}` : `${result.url} failed: ${result.error?.code}`);
}
await client.close();
