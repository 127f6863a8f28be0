// An MCP server on the official TypeScript SDK v2 (@modelcontextprotocol/server 2.4.0) that
// speaks revision 2026-07-28 statelessly (createMcpHandler: one McpServer per request), for
// the end-to-end tier.
//
//   node modern/server.mjs --port 0 [--lifetime S] [--tick-ms MS]
//
// "server: listening on 127.0.0.1:P" on stderr names the port. POST /mcp is the MCP endpoint;
// GET /stats answers {"executions":{"count":C,"write":W},"cancelled":K,"last_cancel_ms":T}.
// Tools `count` (annotations readOnlyHint: a proxy may run it again) and `write` (none): n
// progress notifications delay_ms apart, then "counted N" / "written N"; each execution counts,
// and a call whose request is aborted (the client, or a proxy, closed its connection: in
// 2026-07-28 that is cancellation) counts as cancelled, with the time. The resource
// test://ticker is announced updated every --tick-ms on subscriptions/listen streams; the
// notification carries the server's counter in _meta["test/seq"] (clients strip other params).
import http from 'node:http';
import { McpServer, createMcpHandler } from '@modelcontextprotocol/server';
import * as z from 'zod';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const port = Number(opt('--port', '0'));
const lifetimeS = Number(opt('--lifetime', '600'));
const tickMs = Number(opt('--tick-ms', '50'));

const stats = { executions: { count: 0, write: 0 }, cancelled: 0, last_cancel_ms: 0 };
let tick = 0;

const sleep = (ms, signal) => new Promise((resolve) => {
  if (signal.aborted) return resolve();
  const done = () => { clearTimeout(t); signal.removeEventListener('abort', done); resolve(); };
  const t = setTimeout(done, ms);
  signal.addEventListener('abort', done, { once: true });
});

async function progressTool(kind, { n, delay_ms }, ctx) {
  stats.executions[kind] += 1;
  const signal = ctx.mcpReq.signal;
  const token = ctx.mcpReq._meta?.progressToken;
  let done = false;
  signal.addEventListener('abort', () => {
    if (done) return;
    stats.cancelled += 1;
    stats.last_cancel_ms = Date.now();
  }, { once: true });
  try {
    for (let i = 1; i <= n; i++) {
      await sleep(delay_ms, signal);
      if (signal.aborted) throw new Error('cancelled');
      if (token !== undefined) {
        await ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken: token, progress: i, total: n } });
      }
    }
  } finally {
    done = true;
  }
  return { content: [{ type: 'text', text: `${kind === 'count' ? 'counted' : 'written'} ${n}` }] };
}

function buildServer() {
  const server = new McpServer({ name: 'ssestitch-e2e-modern', version: '1.0.0' },
    { capabilities: { resources: { subscribe: true, listChanged: true } } });
  const input = z.object({ n: z.number().int().min(0), delay_ms: z.number().int().min(0).default(5) });
  server.registerTool('count', { description: 'count to n with progress (read-only)', inputSchema: input,
    annotations: { readOnlyHint: true } }, (a, ctx) => progressTool('count', a, ctx));
  server.registerTool('write', { description: 'write n steps with progress', inputSchema: input },
    (a, ctx) => progressTool('write', a, ctx));
  server.registerResource('ticker', 'test://ticker', { mimeType: 'text/plain' },
    async (uri) => ({ contents: [{ uri: uri.href, mimeType: 'text/plain', text: String(tick) }] }));
  return server;
}

const mcp = createMcpHandler(() => buildServer(), { onerror: () => {} });
const ticker = setInterval(() => {
  tick += 1;
  mcp.bus.publish({ kind: 'resource_updated', uri: 'test://ticker', params: { _meta: { 'test/seq': tick } } });
}, tickMs);

// node:http <-> fetch: the web Request is aborted when the connection closes early.
async function toRequest(req, signal) {
  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
  const init = { method: req.method, headers, signal };
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    init.body = Buffer.concat(chunks);
  }
  return new Request(new URL(req.url, `http://127.0.0.1:${port}`), init);
}

async function sendResponse(response, res, abort) {
  const headers = {};
  response.headers.forEach((v, k) => { headers[k] = v; });
  res.writeHead(response.status, headers);
  res.flushHeaders();
  if (!response.body) return res.end();
  const reader = response.body.getReader();
  const cancel = () => reader.cancel().catch(() => {});
  res.on('close', cancel);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done || res.destroyed) break;
      res.write(value);
    }
  } catch {
    // the stream was cancelled
  } finally {
    res.off('close', cancel);
    if (!res.destroyed) res.end();
    else abort.abort();
  }
}

const httpServer = http.createServer(async (req, res) => {
  const path = req.url.split('?')[0];
  if (path === '/stats' && req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'application/json' });
    return res.end(JSON.stringify(stats));
  }
  if (path !== '/mcp') {
    res.writeHead(404, { 'content-type': 'text/plain' });
    return res.end('not found');
  }
  const abort = new AbortController();
  res.on('close', () => { if (!res.writableFinished) abort.abort(new Error('client disconnected')); });
  try {
    await sendResponse(await mcp.fetch(await toRequest(req, abort.signal)), res, abort);
  } catch {
    if (!res.headersSent) {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32603, message: 'Internal error' }, id: null }));
    } else if (!res.destroyed) {
      res.end();
    }
  }
});

function stop() {
  clearInterval(ticker);
  mcp.close().catch(() => {});
  httpServer.close(() => process.exit(0));
  httpServer.closeAllConnections?.();
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
setTimeout(stop, lifetimeS * 1000).unref();
httpServer.listen(port, '127.0.0.1', () => {
  process.stderr.write(`server: listening on 127.0.0.1:${httpServer.address().port}\n`);
});
