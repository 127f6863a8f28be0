// An MCP client built on the official TypeScript SDK (Client + StreamableHTTPClientTransport),
// for the end-to-end tier. Prints one JSON line on stdout.
//
//   node client.mjs parity URL            a fixed script; output comparable direct vs proxied
//   node client.mjs notify URL --count N [--size B] [--pause-ms MS] [--retries R] [--timeout S]
//   node client.mjs everything URL        server-everything: tools, echo, a resource
//   node client.mjs ask URL [--sessions N] [--late-get MS] [--timeout S]
//   node client.mjs calls URL [--calls N] [--interval-ms MS] [--pause-every K --pause-file F]
//                              [--timeout S]
//   node client.mjs progress URL [--n N] [--delay-ms MS] [--timeout S]
//   node client.mjs tape URL [--extra] [--retries R] [--timeout S]
//
// notify: calls the `notify` tool and checks the notifications it gets: received, in order,
// duplicates, missing, the result; `reconnects` counts the SDK's resume GETs (Last-Event-ID).
// --retries 0 (default) disables the SDK's reconnection: a broken stream fails the call.
// ask: N sessions one after the other, each: connect (the SDK opens the GET stream without
// waiting for it), call `ask` at once (the server's sampling request travels on that GET
// stream), answer it, close (the GET stream is left to linger in a proxy). Counts the answers.
// --late-get MS holds the client's GET that long: the server asks before anyone listens.
// calls: one session subscribes to test://static (the server announces an update on the GET
// stream after each subscribe), then makes N tool calls, `echo` and `ask` in turn, MS apart;
// counts the answers, the errors and the updates, and says whether the session id held. Every K
// calls it appends a line to F and waits until F.go has as many lines (at most 30 s): a test
// restarts the server meanwhile, with no call in flight.
// progress: lists the tools (as hosts do), then calls the read-only `count` tool with a progress
// handler; reports the progress values in the order received and the result.
// tape: one session of every kind of exchange (tools/list, a call with progress, prompts/get,
// completion, resources/read, a call whose tool samples the client on its stream, DELETE);
// prints the results without per-run values, so a recording and its replay compare equal.
// --extra adds a call the recording did not make.
import fs from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema, LoggingMessageNotificationSchema, ResourceUpdatedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';

const [mode, url, ...rest] = process.argv.slice(2);
const opt = (name, dflt) => { const i = rest.indexOf(name); return i >= 0 ? rest[i + 1] : dflt; };
const retries = Number(opt('--retries', '0'));
const timeoutMs = Number(opt('--timeout', '120')) * 1000;

const lateGetMs = Number(opt('--late-get', '0'));

let reconnects = 0;
let lastEventId = '';
const countingFetch = async (input, init) => {
  const h = new Headers(init?.headers);
  if ((init?.method ?? 'GET') === 'GET') {
    if (h.get('last-event-id')) reconnects++;
    else if (lateGetMs > 0) await new Promise((r) => setTimeout(r, lateGetMs));
  }
  return fetch(input, init);
};

async function connect(capabilities = {}, setup = () => {}) {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    fetch: countingFetch,
    reconnectionOptions: { maxRetries: retries, initialReconnectionDelay: 100, maxReconnectionDelay: 1000, reconnectionDelayGrowFactor: 1.5 },
  });
  const client = new Client({ name: 'ssestitch-e2e-client', version: '1.0.0' }, { capabilities });
  setup(client);
  await client.connect(transport);
  return { client, transport };
}

const text = (r) => r.content?.map((c) => c.text).join('') ?? '';

async function parity() {
  const { client, transport } = await connect();
  const out = { protocol: transport.protocolVersion ?? null, session: Boolean(transport.sessionId) };
  out.tools = (await client.listTools()).tools.map((t) => t.name).sort();
  out.echo = text(await client.callTool({ name: 'echo', arguments: { text: 'héllo ✓' } }));
  const seen = [];
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => seen.push(n.params.data.i));
  out.notify = text(await client.callTool({ name: 'notify', arguments: { count: 100, size: 32 } }));
  out.notifications = seen.length;
  out.in_order = seen.every((v, i) => v === i + 1);
  out.resources = (await client.listResources()).resources.map((r) => r.uri);
  out.read = (await client.readResource({ uri: 'test://static' })).contents[0].text;
  if (transport.sessionId) {  // stateless servers have no GET stream to carry the update
    const updated = new Promise((resolve) => client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => resolve(n.params.uri)));
    await client.subscribeResource({ uri: 'test://static' });
    out.updated = await Promise.race([updated, new Promise((r) => setTimeout(() => r('timeout'), 10000))]);
  }
  out.ping = JSON.stringify(await client.ping());
  await transport.terminateSession();
  out.terminated = transport.sessionId === undefined;
  await client.close();
  return out;
}

async function notify() {
  const count = Number(opt('--count', '1000'));
  const size = Number(opt('--size', '64'));
  const pauseMs = Number(opt('--pause-ms', '0'));
  const { client, transport } = await connect();
  const seen = [];
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => seen.push(n.params.data.i));
  const t0 = Date.now();
  const out = { session: transport.sessionId ?? null };
  try {
    const args = pauseMs > 0 ? { count, size, pause_ms: pauseMs } : { count, size };
    const r = await client.callTool({ name: 'notify', arguments: args }, undefined, {
      timeout: timeoutMs,
      onresumptiontoken: (token) => { lastEventId = token; },
    });
    out.result = r.isError ? `error: ${text(r)}` : text(r);
  } catch (e) {
    out.result = null;
    out.error = String(e?.message ?? e);
    out.error_code = e?.code ?? null;
  }
  const unique = new Set(seen);
  let inOrder = true;
  for (let i = 1; i < seen.length; i++) if (seen[i] <= seen[i - 1]) { inOrder = false; break; }
  Object.assign(out, {
    received: seen.length, unique: unique.size, duplicates: seen.length - unique.size,
    missing: Math.max(0, count - unique.size), in_order: inOrder, reconnects,
    last_event_id: lastEventId, elapsed_ms: Date.now() - t0,
  });
  await client.close().catch(() => {});
  return out;
}

async function progress() {
  const n = Number(opt('--n', '100'));
  const delayMs = Number(opt('--delay-ms', '10'));
  const { client } = await connect();
  const out = { progress: [], result: null, error: null };
  try {
    out.tools = (await client.listTools()).tools.map((t) => t.name).sort();
    const r = await client.callTool({ name: 'count', arguments: { n, delay_ms: delayMs } }, undefined, {
      timeout: timeoutMs, onprogress: (p) => out.progress.push(p.progress),
    });
    out.result = r.isError ? `error: ${text(r)}` : text(r);
  } catch (e) {
    out.error = String(e?.message ?? e);
  }
  await client.close().catch(() => {});
  return out;
}

async function tape() {
  const { client, transport } = await connect({ sampling: {} }, (c) => {
    c.setRequestHandler(CreateMessageRequestSchema, async () => ({
      role: 'assistant', model: 'e2e', content: { type: 'text', text: 'from the client' } }));
  });
  const out = { steps: [] };
  const step = async (name, fn) => {
    try {
      out.steps.push({ name, result: await fn() });
    } catch (e) {
      out.steps.push({ name, error: String(e?.message ?? e) });
    }
  };
  await step('tools/list', async () => (await client.listTools()).tools.map((t) => t.name).sort());
  const progress = [];
  await step('tools/call count', async () => text(await client.callTool({ name: 'count', arguments: { n: 30, delay_ms: 10 } },
    undefined, { timeout: timeoutMs, onprogress: (p) => progress.push(p.progress) })));
  out.progress = progress;
  await step('prompts/get', async () => (await client.getPrompt({ name: 'greet', arguments: { name: 'alice' } })).messages[0].content.text);
  await step('completion/complete', async () => (await client.complete({
    ref: { type: 'ref/prompt', name: 'greet' }, argument: { name: 'name', value: 'al' } })).completion.values);
  await step('resources/read', async () => (await client.readResource({ uri: 'test://static' })).contents[0].text);
  await step('tools/call sample', async () => text(await client.callTool({ name: 'sample', arguments: {} })));
  if (opt('--extra') !== undefined || rest.includes('--extra')) {
    await step('tools/call echo (not recorded)', async () => text(await client.callTool({ name: 'echo', arguments: { text: 'new' } })));
  }
  out.reconnects = reconnects;
  await transport.terminateSession().catch(() => {});
  await client.close().catch(() => {});
  return out;
}

async function everything() {
  const { client } = await connect();
  const out = {};
  out.tools = (await client.listTools()).tools.map((t) => t.name).sort();
  out.echo = text(await client.callTool({ name: 'echo', arguments: { message: 'hi from ssestitch' } }));
  const res = (await client.listResources()).resources;
  out.resources = res.length;
  out.read = res.length ? (await client.readResource({ uri: res[0].uri })).contents.length : 0;
  out.prompts = (await client.listPrompts()).prompts.map((p) => p.name).sort();
  await client.close();
  return out;
}

async function ask() {
  const sessions = Number(opt('--sessions', '1'));
  const out = { sessions, answered: 0, errors: [] };
  for (let i = 0; i < sessions; i++) {
    const answer = `answer ${i}`;
    const { client } = await connect({ sampling: {} }, (c) => c.setRequestHandler(CreateMessageRequestSchema,
      async () => ({ model: 'e2e', role: 'assistant', content: { type: 'text', text: answer } })));
    try {
      const r = await client.callTool({ name: 'ask', arguments: {} }, undefined, { timeout: timeoutMs });
      if (text(r) === answer) out.answered++; else out.errors.push(`session ${i}: ${text(r)}`);
    } catch (e) {
      out.errors.push(`session ${i}: ${e?.message ?? e}`);
    }
    await client.close();
  }
  return out;
}

async function calls() {
  const n = Number(opt('--calls', '100'));
  const intervalMs = Number(opt('--interval-ms', '50'));
  const pauseEvery = Number(opt('--pause-every', '0'));
  const pauseFile = opt('--pause-file', '');
  const lines = (f) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').filter(Boolean).length : 0);
  let pauses = 0;
  let updates = 0;
  const { client, transport } = await connect({ sampling: {} }, (c) => {
    c.setRequestHandler(CreateMessageRequestSchema,
      async () => ({ model: 'e2e', role: 'assistant', content: { type: 'text', text: 'sampled' } }));
    c.setNotificationHandler(ResourceUpdatedNotificationSchema, () => { updates++; });
  });
  const session = transport.sessionId;
  const out = { calls: n, ok: 0, errors: [] };
  await client.subscribeResource({ uri: 'test://static' });
  for (let i = 0; i < n; i++) {
    const [name, args, want] = i % 2 ? ['ask', {}, 'sampled'] : ['echo', { text: `call ${i}` }, `call ${i}`];
    try {
      const r = await client.callTool({ name, arguments: args }, undefined, { timeout: timeoutMs });
      if (text(r) === want) out.ok++; else out.errors.push(`call ${i}: ${text(r)}`);
    } catch (e) {
      out.errors.push(`call ${i} (${name}): ${e?.message ?? e}`);
    }
    if (pauseEvery > 0 && (i + 1) % pauseEvery === 0 && i + 1 < n) {
      fs.appendFileSync(pauseFile, `pause ${i + 1}\n`);
      pauses++;
      for (let t = 0; t < 3000 && lines(`${pauseFile}.go`) < pauses; t++) await new Promise((r) => setTimeout(r, 10));
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  await new Promise((r) => setTimeout(r, 300));  // the last update may still be on its way
  Object.assign(out, { updates, same_session: transport.sessionId === session });
  await client.close();
  return out;
}

const modes = { parity, notify, everything, ask, calls, progress, tape };
if (!modes[mode] || !url) {
  process.stderr.write('usage: node client.mjs parity|notify|everything|ask|calls|progress|tape URL [options]\n');
  process.exit(2);
}
const hard = setTimeout(() => { process.stdout.write(JSON.stringify({ error: 'client deadline' }) + '\n'); process.exit(3); }, timeoutMs + 30000);
modes[mode]().then((out) => {
  clearTimeout(hard);
  process.stdout.write(JSON.stringify(out) + '\n');
  process.exit(0);
}, (e) => {
  clearTimeout(hard);
  // fetch's "fetch failed" hides the reason (ECONNREFUSED, a reset...) in e.cause
  const cause = e?.cause ? `: ${e.cause.code ?? e.cause.message ?? e.cause}` : '';
  process.stdout.write(JSON.stringify({ error: String(e?.message ?? e) + cause }) + '\n');
  process.exit(1);
});
