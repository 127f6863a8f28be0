// An MCP server built on the official TypeScript SDK (McpServer + StreamableHTTPServerTransport),
// for the end-to-end tier. Listens on 127.0.0.1:PORT (0: any free port; the line
// "server: listening on 127.0.0.1:P" on stderr names it). Path /mcp.
//
//   node server.mjs --port 0 [--event-store] [--stateless] [--json] [--tls DIR [--h2]]
//
// --event-store  resumable: OrderedEventStore below (ids on every event, GET resumes). Not the
//                SDK's example InMemoryEventStore: it orders a stream's events by sorting their
//                ids as strings (`<stream>_<Date.now()>_<random>`), so events stored in the same
//                millisecond replay in random order and some are skipped after a resume (seen
//                here: 31 of 20,000 lost, others reordered, with or without a proxy).
// --stateless    no sessions (sessionIdGenerator undefined)
// --json         answers POSTs with application/json instead of an SSE stream
//                (enableJsonResponse); notifications made during a request are not sent
// --tls DIR      https with DIR/cert.pem and DIR/key.pem; with --h2, HTTP/2 (ALPN h2, HTTP/1.1
//                still accepted)
// Tools: echo {text}; notify {count, size, pause_ms}: `count` notifications/message (data {i, pad})
// on the request's stream as they are made (it yields to the event loop every 100, for pause_ms
// if given), then the result "sent <count>"; slow {ms}; ask: a sampling request on the session's GET stream, answered with
// the client's text; sample: a sampling request on the call's own stream (extra.sendRequest),
// answered with the client's text; count {n, delay_ms} (readOnlyHint): n progress notifications.
// A resource `test://static` with subscribe support, so subscriptions travel on the GET stream.
// A prompt `greet` {name}, whose argument completes (names starting with what was typed).
import fs from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { completable } from '@modelcontextprotocol/sdk/server/completable.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CreateMessageResultSchema, isInitializeRequest, SubscribeRequestSchema, UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const flag = (name) => args.includes(name);
const port = Number(opt('--port', '0'));
const resumable = flag('--event-store');
const stateless = flag('--stateless');
const enableJsonResponse = flag('--json');
const tlsDir = opt('--tls', '');
const lifetimeS = Number(opt('--lifetime', '600'));

// The SDK's EventStore interface, kept in arrival order per stream. Ids: <stream>_<index>.
class OrderedEventStore {
  constructor(maxPerStream = 200000) { this.streams = new Map(); this.max = maxPerStream; }
  async storeEvent(streamId, message) {
    let s = this.streams.get(streamId);
    if (!s) { s = { base: 0, events: [] }; this.streams.set(streamId, s); }
    s.events.push(message);
    if (s.events.length > this.max) { s.events.shift(); s.base++; }
    return `${streamId}_${s.base + s.events.length - 1}`;
  }
  async getStreamIdForEventId(eventId) { return eventId.slice(0, eventId.lastIndexOf('_')); }
  async replayEventsAfter(lastEventId, { send }) {
    const cut = lastEventId.lastIndexOf('_');
    const streamId = lastEventId.slice(0, cut);
    const s = this.streams.get(streamId);
    const index = Number(lastEventId.slice(cut + 1));
    if (!s || !Number.isInteger(index) || index < s.base - 1) throw new Error(`unknown event id ${lastEventId}`);
    for (let i = index + 1; i < s.base + s.events.length; i++) await send(`${streamId}_${i}`, s.events[i - s.base]);
    return streamId;
  }
}

function buildServer() {
  const server = new McpServer({ name: 'ssestitch-e2e', version: '1.0.0' },
    { capabilities: { logging: {}, resources: { subscribe: true } } });
  server.registerTool('echo', { description: 'echo the text', inputSchema: { text: z.string() } },
    async ({ text }) => ({ content: [{ type: 'text', text }] }));
  server.registerTool('notify', {
    description: 'send count notifications on this request\'s stream, then answer',
    inputSchema: { count: z.number().int(), size: z.number().int().optional(), pause_ms: z.number().int().optional() },
  }, async ({ count, size, pause_ms }, extra) => {
    const pad = 'x'.repeat(size ?? 64);
    for (let i = 1; i <= count; i++) {
      await extra.sendNotification({ method: 'notifications/message', params: { level: 'info', data: { i, pad } } });
      // Back to the event loop now and then: Node sends what a tight await loop writes only
      // when the loop ends (one burst), a tool that streams lets it leave as it goes.
      if (i % 100 === 0) await new Promise((r) => (pause_ms ? setTimeout(r, pause_ms) : setImmediate(r)));
    }
    return { content: [{ type: 'text', text: `sent ${count}` }] };
  });
  // Read-only by its annotations: a proxy may run it again when its answer is lost.
  server.registerTool('count', {
    description: 'send n progress notifications, delay_ms apart, then answer',
    inputSchema: { n: z.number().int(), delay_ms: z.number().int().optional() },
    annotations: { readOnlyHint: true },
  }, async ({ n, delay_ms }, extra) => {
    const token = extra._meta?.progressToken;
    for (let i = 1; i <= n; i++) {
      if (token !== undefined) {
        await extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: i, total: n } });
      }
      await new Promise((r) => setTimeout(r, delay_ms ?? 5));
    }
    return { content: [{ type: 'text', text: `counted ${n}` }] };
  });
  server.registerTool('slow', { description: 'answer after ms', inputSchema: { ms: z.number().int() } },
    async ({ ms }) => { await new Promise((r) => setTimeout(r, ms)); return { content: [{ type: 'text', text: 'slow done' }] }; });
  // A request to the client that names no client request (server.createMessage, not
  // extra.sendRequest): the SDK sends it on the session's GET stream, or drops it when none
  // is open at that instant.
  server.registerTool('ask', { description: 'ask the client to sample on the GET stream; answer with its text' },
    async () => {
      const r = await server.server.createMessage({ messages: [{ role: 'user', content: { type: 'text', text: 'ask' } }], maxTokens: 8 });
      return { content: [{ type: 'text', text: r.content.text }] };
    });
  server.registerTool('sample', { description: 'ask the client to sample, on this call\'s stream' },
    async (extra) => {  // (a tool without inputSchema gets no arguments)
      const r = await extra.sendRequest({ method: 'sampling/createMessage', params: {
        messages: [{ role: 'user', content: { type: 'text', text: 'sample' } }], maxTokens: 8 } }, CreateMessageResultSchema);
      return { content: [{ type: 'text', text: `sampled: ${r.content.text}` }] };
    });
  const names = ['alice', 'albert', 'bob'];
  server.registerPrompt('greet', {
    description: 'a greeting', argsSchema: { name: completable(z.string(), (v) => names.filter((n) => n.startsWith(v ?? ''))) },
  }, ({ name }) => ({ messages: [{ role: 'user', content: { type: 'text', text: `Hello, ${name}!` } }] }));
  server.registerResource('static', 'test://static', { mimeType: 'text/plain' },
    async (uri) => ({ contents: [{ uri: uri.href, text: 'static text' }] }));
  // Subscriptions: acknowledge, then announce an update on the session's GET stream.
  server.server.setRequestHandler(SubscribeRequestSchema, async (req) => {
    setTimeout(() => server.server.sendResourceUpdated({ uri: req.params.uri }).catch(() => {}), 100);
    return {};
  });
  server.server.setRequestHandler(UnsubscribeRequestSchema, async () => ({}));
  return server;
}

const transports = new Map();  // session id -> transport

async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}

function jsonError(res, status, code, message) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

const versions = new Set();  // each HTTP version seen is logged once: tests check the protocol
const handler = async (req, res) => {
  if (!versions.has(req.httpVersion)) {
    versions.add(req.httpVersion);
    process.stderr.write(`server: HTTP/${req.httpVersion} request\n`);
  }
  try {
    const url = new URL(req.url, 'http://127.0.0.1');
    if (url.pathname !== '/mcp') return jsonError(res, 404, -32000, 'not found');
    const body = req.method === 'POST' ? await readBody(req) : undefined;
    if (stateless) {
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse });
      const server = buildServer();
      res.on('close', () => { transport.close(); server.close(); });
      await server.connect(transport);
      return await transport.handleRequest(req, res, body);
    }
    const sid = req.headers['mcp-session-id'];
    let transport = sid ? transports.get(sid) : undefined;
    if (!transport) {
      if (sid) return jsonError(res, 404, -32001, 'Session not found');
      if (req.method !== 'POST' || !isInitializeRequest(body)) return jsonError(res, 400, -32000, 'Bad Request: No valid session ID provided');
      transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        enableJsonResponse,
        eventStore: resumable ? new OrderedEventStore() : undefined,
        onsessioninitialized: (id) => transports.set(id, transport),
      });
      transport.onclose = () => { if (transport.sessionId) transports.delete(transport.sessionId); };
      await buildServer().connect(transport);
    }
    await transport.handleRequest(req, res, body);
  } catch (e) {
    if (!res.headersSent) jsonError(res, 500, -32603, String(e?.message ?? e));
  }
};
const tls = tlsDir ? { cert: fs.readFileSync(`${tlsDir}/cert.pem`), key: fs.readFileSync(`${tlsDir}/key.pem`) } : null;
const httpServer = !tls ? http.createServer(handler)
  : flag('--h2') ? http2.createSecureServer({ ...tls, allowHTTP1: true }, handler)
  : https.createServer(tls, handler);

httpServer.listen(port, '127.0.0.1', () => {
  process.stderr.write(`server: listening on 127.0.0.1:${httpServer.address().port}\n`);
});
const stop = () => { httpServer.close(); process.exit(0); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
setTimeout(stop, lifetimeS * 1000).unref();
