// The graphql-http server audit (GraphQL over HTTP spec conformance) against a running server.
//
//     node audit.mjs http://127.0.0.1:4000/graphql
//
// Prints one JSON line per audit: {id, name, status, reason}. status is "ok", or, for a failed
// audit, "error" (a MUST), "warn" (a SHOULD) or "notice" (a MAY); reason is null when it passed and
// otherwise says what was wrong, with the response's status and a prefix of its body. Exits 0 once
// every audit ran (whatever their results); 2 on bad usage, 1 on a fatal error (server unreachable).
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs URL');
  process.exit(2);
}

async function describe(response) {
  if (!response) return '';
  let body = '';
  try {
    body = (await response.text()).slice(0, 300);
  } catch {
    body = '<unreadable body>';
  }
  const type = response.headers.get('content-type') ?? '-';
  return ` (got ${response.status}, content-type ${type}: ${body})`;
}

const results = await Promise.all(serverAudits({ url }).map(({ fn }) => fn()));
for (const result of results) {
  const reason = result.status === 'ok' ? null : `${result.reason}${await describe(result.response)}`;
  console.log(JSON.stringify({ id: result.id, name: result.name, status: result.status, reason }));
}
