// An MCP client on the official TypeScript SDK (Client + StreamableHTTPClientTransport) for the
// client scenarios of @modelcontextprotocol/conformance 0.1.16 without auth: initialize,
// tools_call, elicitation-sep1034-client-defaults, sse-retry.
//
//   (from the repo root, Node 22 first in PATH: the conformance CLI uses fs.globSync)
//   node tests/e2e/node_modules/@modelcontextprotocol/conformance/dist/index.js client \
//        --command "node tests/e2e/conformance/client.mjs" --scenario NAME
//   MCP_CONFORMANCE_SCENARIO=NAME node tests/e2e/conformance/client.mjs URL   (what the runner runs)
//
// The runner starts the scenario's own server, runs the command with that server's URL appended
// (argv[2]) and names the scenario in MCP_CONFORMANCE_SCENARIO. The runner's checks judge what the
// server saw; this client also fails (exit 1) if an answer it gets back is not the expected one.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';

const log = (line) => process.stderr.write(`client: ${line}\n`);

async function connect(url, { capabilities = {}, fetch } = {}) {
  const client = new Client({ name: 'ssestitch-conformance-client', version: '1.0.0' }, { capabilities });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { fetch }));
  log(`connected to ${url}`);
  return client;
}

async function callTool(client, name, args = {}) {
  const result = await client.callTool({ name, arguments: args });
  const text = result.content?.find((c) => c.type === 'text')?.text;
  log(`${name} -> ${text}`);
  if (result.isError) throw new Error(`${name} failed: ${text}`);
  return text;
}

function expect(actual, expected) {
  if (actual !== expected) throw new Error(`expected "${expected}", got "${actual}"`);
}

const scenarios = {
  // The handshake is what is checked (protocol version, clientInfo); tools/list rounds it off.
  async initialize(url) {
    const client = await connect(url);
    await client.listTools();
    await client.close();
  },

  async tools_call(url) {
    const client = await connect(url);
    const { tools } = await client.listTools();
    if (!tools.some((t) => t.name === 'add_numbers')) throw new Error('no add_numbers tool listed');
    expect(await callTool(client, 'add_numbers', { a: 2, b: 3 }), 'The sum of 2 and 3 is 5');
    await client.close();
  },

  // The tool elicits five optional fields with defaults; accepting with empty content, the SDK
  // fills in the defaults (capability elicitation.form.applyDefaults) before answering.
  async 'elicitation-sep1034-client-defaults'(url) {
    const client = await connect(url, { capabilities: { elicitation: { form: { applyDefaults: true } } } });
    client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: {} }));
    await callTool(client, 'test_client_elicitation_defaults');
    await client.close();
  },

  // The scenario server answers tools/call with a priming event (id, retry: 500) and ends the
  // stream 50 ms later; the SDK waits the 500 ms and resumes with GET + Last-Event-ID, where the
  // result comes. The scenario takes the last GET it received for that resumption, so the tool is
  // called only once the SDK's standalone GET has been answered: arriving after the tools/call,
  // it would be taken for the resumption (and be sent the result), failing the timing check.
  async 'sse-retry'(url) {
    let standaloneGet;  // the first GET: the standalone stream, if the SDK opens one
    const client = await connect(url, {
      fetch: (input, init) => {
        const res = fetch(input, init);
        if (init?.method === 'GET') standaloneGet ??= res.catch(() => {});
        return res;
      },
    });
    // The SDK starts that GET when notifications/initialized is answered 202, before connect()
    // resolves; its fetch call follows within the same run of microtasks, so it has been made
    // by the time setImmediate fires.
    await new Promise(setImmediate);
    await standaloneGet;
    log(standaloneGet ? 'standalone GET answered' : 'no standalone GET opened');
    await callTool(client, 'test_reconnection');
    await client.close();
  },
};

const scenario = process.env.MCP_CONFORMANCE_SCENARIO;
// The runner names its server http://localhost:PORT (listening on every interface); a fresh
// chroot may have no /etc/hosts, and Node resolves localhost through it: go to 127.0.0.1.
const url = process.argv[2]?.replace(/^http:\/\/localhost([:/]|$)/, 'http://127.0.0.1$1');
if (!scenarios[scenario] || !url) {
  log(`usage: MCP_CONFORMANCE_SCENARIO=<${Object.keys(scenarios).join('|')}> node client.mjs URL`);
  process.exit(2);
}
scenarios[scenario](url).then(
  () => process.exit(0),
  (e) => { log(`${scenario}: ${e?.stack ?? e}`); process.exit(1); });
