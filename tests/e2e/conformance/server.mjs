// An MCP server on the official TypeScript SDK (McpServer + StreamableHTTPServerTransport) that
// implements the server scenarios of @modelcontextprotocol/conformance 0.1.16: the 30 of
// `--suite active` pass, and so do the two pending ones of `--suite all`, json-schema-2020-12 and
// server-sse-polling (the latter with 0 checks and 2 warnings, as the reference server: its raw
// POST says mcp-protocol-version 2025-03-26, and the SDK sends no priming event to such clients).
// Listens on 127.0.0.1:PORT (0: any free port; the line "server: listening on 127.0.0.1:P" on
// stderr names it), path /mcp. Exits by itself after --lifetime seconds, cleanly on SIGTERM.
//
//   node tests/e2e/conformance/server.mjs --port 0 [--lifetime 600]
//   node tests/e2e/node_modules/@modelcontextprotocol/conformance/dist/index.js server \
//        --url http://127.0.0.1:P/mcp --suite active        (Node 22: the CLI uses fs.globSync)
//
// Stateful: one session (McpServer + transport) per initialize, ids from randomUUID. Resumable:
// each session has an EventStore (below), so POST streams start with a priming event
// (id + `retry: 500`, for clients at protocol 2025-11-25) and a GET with Last-Event-ID replays.
// DNS-rebinding protection: a Host or Origin that is not localhost, 127.0.0.1 or [::1] gets 403.
//
// Tools (names and answers as the scenarios specify them):
//   test_simple_text, test_image_content (1x1 red PNG), test_audio_content (0.1 s silent WAV),
//   test_embedded_resource, test_multiple_content_types  -- fixed content of each kind
//   test_tool_with_logging   3 notifications/message (info) 50 ms apart, on the request's stream
//   test_tool_with_progress  progress 0, 50, 100 of 100, 50 ms apart, if the call has a token
//   test_error_handling      a result with isError: true
//   test_sampling {prompt}, test_elicitation {message}, test_elicitation_sep1034_defaults,
//   test_elicitation_sep1330_enums  -- a request to the client (sampling/createMessage or
//                            elicitation/create) on the tool call's own stream, then its answer
//   test_reconnection        closes its own POST stream before answering (when the stream is
//                            resumable); the client gets the result by resuming with GET
//   json_schema_2020_12_tool an inputSchema with $schema (2020-12), $defs, additionalProperties
// Resources: test://static-text, test://static-binary (PNG), test://watched-resource (accepts
// resources/subscribe and unsubscribe; it never changes, so no update is ever sent), template
// test://template/{id}/data. Prompts: test_simple_prompt, test_prompt_with_arguments {arg1, arg2}
// (arg1 completes via completion/complete), test_prompt_with_embedded_resource {resourceUri},
// test_prompt_with_image. logging/setLevel filters the tools' log notifications.
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { completable } from '@modelcontextprotocol/sdk/server/completable.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CreateMessageResultSchema, ElicitResultSchema, isInitializeRequest, LoggingLevelSchema,
  SetLevelRequestSchema, SubscribeRequestSchema, UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const port = Number(opt('--port', '0'));
const lifetimeS = Number(opt('--lifetime', '600'));

// The SDK's EventStore interface, each stream's events kept in arrival order. Ids are
// <streamId>_<index>, so a resume replays exactly the events after the one it names.
class EventStore {
  streams = new Map();
  async storeEvent(streamId, message) {
    const events = this.streams.get(streamId) ?? [];
    this.streams.set(streamId, events);
    events.push(message);
    return `${streamId}_${events.length - 1}`;
  }
  async getStreamIdForEventId(eventId) {
    const streamId = eventId.slice(0, eventId.lastIndexOf('_'));
    return this.streams.has(streamId) ? streamId : undefined;
  }
  async replayEventsAfter(lastEventId, { send }) {
    const cut = lastEventId.lastIndexOf('_');
    const streamId = lastEventId.slice(0, cut);
    const events = this.streams.get(streamId);
    const index = Number(lastEventId.slice(cut + 1));
    if (!events || !Number.isInteger(index)) throw new Error(`unknown event id ${lastEventId}`);
    for (let i = index + 1; i < events.length; i++) await send(`${streamId}_${i}`, events[i]);
    return streamId;
  }
}

const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==';

// A WAV file of `ms` milliseconds of silence, 8 kHz 8-bit mono PCM, base64.
function silentWav(ms) {
  const rate = 8000;
  const n = (rate * ms) / 1000;
  const b = Buffer.alloc(44 + n, 128);  // 128: silence in unsigned 8-bit PCM
  b.write('RIFF', 0); b.writeUInt32LE(36 + n, 4); b.write('WAVE', 8);
  b.write('fmt ', 12); b.writeUInt32LE(16, 16); b.writeUInt16LE(1, 20); b.writeUInt16LE(1, 22);
  b.writeUInt32LE(rate, 24); b.writeUInt32LE(rate, 28); b.writeUInt16LE(1, 32); b.writeUInt16LE(8, 34);
  b.write('data', 36); b.writeUInt32LE(n, 40);
  return b.toString('base64');
}
const WAV = silentWav(100);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const text = (t) => ({ type: 'text', text: t });
const image = () => ({ type: 'image', data: PNG, mimeType: 'image/png' });
const embedded = (uri, mimeType, t) => ({ type: 'resource', resource: { uri, mimeType, text: t } });
const toolResult = (...content) => ({ content });
const userMessages = (...contents) => ({ messages: contents.map((content) => ({ role: 'user', content })) });

// elicitation/create on the tool call's stream (extra.sendRequest relates it to the call).
const elicit = (extra, message, properties, required = []) => extra.sendRequest(
  { method: 'elicitation/create', params: { message, requestedSchema: { type: 'object', properties, required } } },
  ElicitResultSchema);
const elicitationText = (r) => `Elicitation completed: action=${r.action}, content=${JSON.stringify(r.content ?? {})}`;
const choices = (titles) => titles.map((title, i) => ({ const: `value${i + 1}`, title }));

function registerTools(server, log) {
  server.registerTool('test_simple_text', { description: 'returns a simple text' },
    async () => toolResult(text('This is a simple text response for testing.')));
  server.registerTool('test_image_content', { description: 'returns a 1x1 red PNG' },
    async () => toolResult(image()));
  server.registerTool('test_audio_content', { description: 'returns a short silent WAV' },
    async () => toolResult({ type: 'audio', data: WAV, mimeType: 'audio/wav' }));
  server.registerTool('test_embedded_resource', { description: 'returns an embedded text resource' },
    async () => toolResult(embedded('test://embedded-resource', 'text/plain', 'This is an embedded resource content.')));
  server.registerTool('test_multiple_content_types', { description: 'returns text, image and resource' },
    async () => toolResult(text('Multiple content types test:'), image(),
      embedded('test://mixed-content-resource', 'application/json', JSON.stringify({ test: 'data', value: 123 }))));
  server.registerTool('test_tool_with_logging', { description: 'logs three info messages while it runs' },
    async (extra) => {
      for (const [i, data] of ['Tool execution started', 'Tool processing data', 'Tool execution completed'].entries()) {
        if (i > 0) await sleep(50);
        await log(extra, 'info', data);
      }
      return toolResult(text('Tool with logging executed successfully'));
    });
  server.registerTool('test_tool_with_progress', { description: 'reports progress 0, 50, 100 of 100' },
    async (extra) => {
      const progressToken = extra._meta?.progressToken;
      for (const progress of [0, 50, 100]) {
        if (progress > 0) await sleep(50);
        if (progressToken !== undefined) {
          await extra.sendNotification({ method: 'notifications/progress', params: { progressToken, progress, total: 100 } });
        }
      }
      return toolResult(text(`progress reported to ${progressToken}`));
    });
  server.registerTool('test_error_handling', { description: 'always fails' },
    async () => ({ isError: true, content: [text('This tool intentionally returns an error for testing')] }));
  server.registerTool('test_sampling', {
    description: 'asks the client for an LLM completion of prompt',
    inputSchema: { prompt: z.string().describe('The prompt to send to the LLM') },
  }, async ({ prompt }, extra) => {
    const r = await extra.sendRequest({
      method: 'sampling/createMessage',
      params: { messages: [{ role: 'user', content: text(prompt) }], maxTokens: 100 },
    }, CreateMessageResultSchema);
    return toolResult(text(`LLM response: ${r.content.type === 'text' ? r.content.text : JSON.stringify(r.content)}`));
  });
  server.registerTool('test_elicitation', {
    description: 'asks the client for a username and email',
    inputSchema: { message: z.string().describe('The message to show the user') },
  }, async ({ message }, extra) => {
    const r = await elicit(extra, message, {
      username: { type: 'string', description: "User's response" },
      email: { type: 'string', description: "User's email address" },
    }, ['username', 'email']);
    return toolResult(text(`User response: action=${r.action}, content=${JSON.stringify(r.content ?? {})}`));
  });
  server.registerTool('test_elicitation_sep1034_defaults', { description: 'elicitation with a default for each primitive type' },
    async (extra) => toolResult(text(elicitationText(await elicit(extra, 'Please review your profile', {
      name: { type: 'string', description: 'Name', default: 'John Doe' },
      age: { type: 'integer', description: 'Age', default: 30 },
      score: { type: 'number', description: 'Score', default: 95.5 },
      status: { type: 'string', description: 'Status', enum: ['active', 'inactive', 'pending'], default: 'active' },
      verified: { type: 'boolean', description: 'Verified', default: true },
    })))));
  server.registerTool('test_elicitation_sep1330_enums', { description: 'elicitation with the five enum schema variants' },
    async (extra) => toolResult(text(elicitationText(await elicit(extra, 'Please pick some options', {
      untitledSingle: { type: 'string', enum: ['option1', 'option2', 'option3'] },
      titledSingle: { type: 'string', oneOf: choices(['First Option', 'Second Option', 'Third Option']) },
      legacyEnum: { type: 'string', enum: ['opt1', 'opt2', 'opt3'], enumNames: ['Option One', 'Option Two', 'Option Three'] },
      untitledMulti: { type: 'array', items: { type: 'string', enum: ['option1', 'option2', 'option3'] } },
      titledMulti: { type: 'array', items: { anyOf: choices(['First Choice', 'Second Choice', 'Third Choice']) } },
    })))));
  // extra.closeSSEStream exists only if the client can resume this stream (event store, protocol
  // >= 2025-11-25): the result is then stored and reaches the client when it resumes with GET.
  server.registerTool('test_reconnection', { description: 'closes its stream before answering (SEP-1699 polling)' },
    async (extra) => {
      extra.closeSSEStream?.();
      return toolResult(text('Reconnection test completed successfully'));
    });
  // McpServer lists zod schemas as JSON Schema; .meta() adds the 2020-12 keywords verbatim.
  const address = { type: 'object', properties: { street: { type: 'string' }, city: { type: 'string' } } };
  server.registerTool('json_schema_2020_12_tool', {
    description: 'Tool with JSON Schema 2020-12 features',
    inputSchema: z.strictObject({
      name: z.string().optional(),
      address: z.object({ street: z.string().optional(), city: z.string().optional() }).optional()
        .meta({ $ref: '#/$defs/address' }),
    }).meta({ $schema: 'https://json-schema.org/draft/2020-12/schema', $defs: { address } }),
  }, async (input) => toolResult(text(JSON.stringify(input))));
}

function registerResources(server) {
  server.registerResource('static-text', 'test://static-text', { description: 'a text resource', mimeType: 'text/plain' },
    async (uri) => ({ contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'This is the content of the static text resource.' }] }));
  server.registerResource('static-binary', 'test://static-binary', { description: 'a PNG resource', mimeType: 'image/png' },
    async (uri) => ({ contents: [{ uri: uri.href, mimeType: 'image/png', blob: PNG }] }));
  server.registerResource('watched-resource', 'test://watched-resource', { description: 'a resource to subscribe to', mimeType: 'text/plain' },
    async (uri) => ({ contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'Watched resource content.' }] }));
  server.registerResource('template', new ResourceTemplate('test://template/{id}/data', { list: undefined }),
    { description: 'data for an id', mimeType: 'application/json' },
    async (uri, { id }) => ({ contents: [{
      uri: uri.href, mimeType: 'application/json', text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${id}` }),
    }] }));
  server.server.setRequestHandler(SubscribeRequestSchema, async () => ({}));
  server.server.setRequestHandler(UnsubscribeRequestSchema, async () => ({}));
}

function registerPrompts(server) {
  server.registerPrompt('test_simple_prompt', { description: 'a prompt without arguments' },
    async () => userMessages(text('This is a simple prompt for testing.')));
  server.registerPrompt('test_prompt_with_arguments', {
    description: 'a prompt with two arguments',
    argsSchema: {
      arg1: completable(z.string().describe('First test argument'),
        (value) => ['paris', 'park', 'party'].filter((v) => v.startsWith(value))),
      arg2: z.string().describe('Second test argument'),
    },
  }, async ({ arg1, arg2 }) => userMessages(text(`Prompt with arguments: arg1='${arg1}', arg2='${arg2}'`)));
  server.registerPrompt('test_prompt_with_embedded_resource', {
    description: 'a prompt embedding the resource resourceUri',
    argsSchema: { resourceUri: z.string().describe('URI of the resource to embed') },
  }, async ({ resourceUri }) => userMessages(
    embedded(resourceUri, 'text/plain', 'Embedded resource content for testing.'),
    text('Please process the embedded resource above.')));
  server.registerPrompt('test_prompt_with_image', { description: 'a prompt with an image' },
    async () => userMessages(image(), text('Please analyze the image above.')));
}

// One McpServer per session. logging/setLevel sets this session's threshold for `log`, which
// sends on the stream of the request it belongs to.
function buildServer() {
  const server = new McpServer({ name: 'ssestitch-conformance', version: '1.0.0' },
    { capabilities: { logging: {}, resources: { subscribe: true } } });
  const levels = LoggingLevelSchema.options;  // least to most severe
  let threshold = 0;
  server.server.setRequestHandler(SetLevelRequestSchema, async (req) => {
    threshold = levels.indexOf(req.params.level);
    return {};
  });
  const log = async (extra, level, data) => {
    if (levels.indexOf(level) >= threshold) {
      await extra.sendNotification({ method: 'notifications/message', params: { level, data } });
    }
  };
  registerTools(server, log);
  registerResources(server);
  registerPrompts(server);
  return server;
}

const LOCAL_HOSTNAMES = new Set(['localhost', '127.0.0.1', '[::1]']);
const isLocalHost = (host) => URL.canParse(`http://${host}`) && LOCAL_HOSTNAMES.has(new URL(`http://${host}`).hostname);
const isLocalOrigin = (origin) => URL.canParse(origin) && LOCAL_HOSTNAMES.has(new URL(origin).hostname);

// Why the request looks like DNS rebinding (a page elsewhere reaching this port), or undefined.
function rebindingError(req) {
  const { host, origin } = req.headers;
  if (!isLocalHost(host ?? '')) return `Invalid Host header: ${host}`;
  if (origin !== undefined && !isLocalOrigin(origin)) return `Invalid Origin header: ${origin}`;
  return undefined;
}

function jsonError(res, status, code, message) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const body = Buffer.concat(chunks).toString('utf8');
  return body ? JSON.parse(body) : undefined;
}

const transports = new Map();  // session id -> transport

async function newSession() {
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    eventStore: new EventStore(),
    retryInterval: 500,
    onsessioninitialized: (id) => transports.set(id, transport),
  });
  transport.onclose = () => transports.delete(transport.sessionId);
  await buildServer().connect(transport);
  return transport;
}

async function handler(req, res) {
  try {
    const rebinding = rebindingError(req);
    if (rebinding) return jsonError(res, 403, -32000, rebinding);
    if (new URL(req.url, 'http://127.0.0.1').pathname !== '/mcp') return jsonError(res, 404, -32000, 'Not found');
    let body;
    try {
      body = req.method === 'POST' ? await readBody(req) : undefined;
    } catch {
      return jsonError(res, 400, -32700, 'Parse error');
    }
    const sid = req.headers['mcp-session-id'];
    let transport = sid ? transports.get(sid) : undefined;
    if (!transport) {
      if (sid) return jsonError(res, 404, -32001, 'Session not found');
      if (req.method !== 'POST' || !isInitializeRequest(body)) return jsonError(res, 400, -32000, 'Bad Request: No valid session ID provided');
      transport = await newSession();
    }
    await transport.handleRequest(req, res, body);
  } catch (e) {
    if (!res.headersSent) jsonError(res, 500, -32603, String(e?.message ?? e));
  }
}

const httpServer = http.createServer(handler);
httpServer.listen(port, '127.0.0.1', () => {
  process.stderr.write(`server: listening on 127.0.0.1:${httpServer.address().port}\n`);
});

// Close every session (ending its SSE streams), then the listener and its idle connections.
let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await Promise.allSettled([...transports.values()].map((t) => t.close()));
  httpServer.close(() => process.exit(0));
  httpServer.closeAllConnections();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
setTimeout(stop, lifetimeS * 1000).unref();
