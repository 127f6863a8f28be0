// An MCP client on the official TypeScript SDK v2 (@modelcontextprotocol/client 2.4.0), pinned
// to revision 2026-07-28 (server/discover, no initialize, no session), for the end-to-end tier.
// Prints one JSON line on stdout; exit 0 on success, 1 otherwise; never outlives --timeout-ms.
//
//   node modern/client.mjs URL count|write [--n N] [--delay-ms MS]
//   node modern/client.mjs URL listen [--listen-ms MS]
//   node modern/client.mjs URL cancel [--after-ms MS]
//
// count|write: lists the tools (as hosts do: the annotations tell a proxy what it may repeat),
// then calls the tool with a progress handler: `progress` (values in order), `result`, `error`.
// The SDK client does not re-issue a call whose stream broke (it waits for its timeout).
// listen: subscriptions/listen for test://ticker for MS, then closes it: `updates`, the
// server's counters (`seqs_increasing`: never one twice), `acks` counted on the wire (the SDK
// consumes the acknowledgement), `closed` ("local": the stream stayed open until we closed it).
// cancel: a long `count` call aborted after MS (closing the stream is cancellation):
// `aborted_at_ms` (Date.now()).
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';

const [url, mode, ...rest] = process.argv.slice(2);
const opt = (name, dflt) => { const i = rest.indexOf(name); return i >= 0 ? Number(rest[i + 1]) : dflt; };
const timeoutMs = opt('--timeout-ms', 30000);
const out = { mode, protocol: null, error: null };

let acks = 0;
// Counts acknowledgements on the wire without consuming the stream.
const countingFetch = async (input, init) => {
  const res = await fetch(input, init);
  if (!res.body || !(res.headers.get('content-type') ?? '').startsWith('text/event-stream')) return res;
  const decoder = new TextDecoder();
  let text = '';
  const scan = new TransformStream({
    transform(chunk, controller) {
      controller.enqueue(chunk);
      text += decoder.decode(chunk, { stream: true });
      let end;
      while ((end = text.indexOf('\n\n')) >= 0) {
        if (text.slice(0, end).includes('notifications/subscriptions/acknowledged')) acks++;
        text = text.slice(end + 2);
      }
    },
  });
  return new Response(res.body.pipeThrough(scan), { status: res.status, headers: res.headers });
};

async function main() {
  const client = new Client({ name: 'ssestitch-e2e-modern', version: '1.0.0' },
    { versionNegotiation: { mode: { pin: '2026-07-28' } } });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { fetch: countingFetch }), { timeout: timeoutMs });
  out.protocol = client.getNegotiatedProtocolVersion() ?? null;
  try {
    if (mode === 'count' || mode === 'write') {
      out.tools = (await client.listTools()).tools.map((t) => t.name).sort();
      out.progress = [];
      const r = await client.callTool({ name: mode, arguments: { n: opt('--n', 100), delay_ms: opt('--delay-ms', 10) } },
        { onprogress: (p) => out.progress.push(p.progress), timeout: timeoutMs });
      out.result = r.content?.find((c) => c.type === 'text')?.text ?? null;
      return !r.isError;
    }
    if (mode === 'listen') {
      const seqs = [];
      client.setNotificationHandler('notifications/resources/updated', (n) => {
        if (n.params?.uri === 'test://ticker') seqs.push(n.params?._meta?.['test/seq']);
      });
      const sub = await client.listen({ resourceSubscriptions: ['test://ticker'] }, { timeout: timeoutMs });
      sub.closed.then((how) => { out.closed = how; });
      await new Promise((r) => setTimeout(r, opt('--listen-ms', 2000)));
      out.closed ??= 'local';  // still open: we close it now
      await sub.close();
      Object.assign(out, {
        updates: seqs.length, acks, first_seq: seqs[0] ?? null, last_seq: seqs.at(-1) ?? null,
        seqs_increasing: seqs.every((v, i) => typeof v === 'number' && (i === 0 || v > seqs[i - 1])),
      });
      return seqs.length > 0;
    }
    if (mode === 'cancel') {
      const abort = new AbortController();
      const timer = setTimeout(() => { out.aborted_at_ms = Date.now(); abort.abort(new Error('client abort')); },
        opt('--after-ms', 300));
      try {
        await client.callTool({ name: 'count', arguments: { n: 1000, delay_ms: 20 } },
          { onprogress: () => {}, signal: abort.signal, timeout: timeoutMs });
        out.completed = true;
      } catch (e) {
        out.error = String(e?.message ?? e);
      } finally {
        clearTimeout(timer);
      }
      return out.aborted_at_ms !== undefined && !out.completed;
    }
    throw new Error(`unknown mode ${mode}`);
  } finally {
    await client.close().catch(() => {});
  }
}

const finish = (ok) => {
  process.stdout.write(JSON.stringify(out) + '\n', () => process.exit(ok ? 0 : 1));
};
const deadline = setTimeout(() => { out.error = `client deadline (${timeoutMs} ms)`; finish(false); }, timeoutMs);
main().then((ok) => { clearTimeout(deadline); finish(ok); },
  (e) => { clearTimeout(deadline); out.error ??= String(e?.message ?? e); finish(false); });
