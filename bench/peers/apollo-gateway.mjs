// Apollo's gateway on a static supergraph, the reference our router is compared against.
//
//   node gateway.mjs --supergraph FILE --port N [--host 127.0.0.1]
//
// Serves POST /graphql; subgraph URLs come from the supergraph's @join__graph directives. Prints
// `ready http://HOST:PORT/graphql` on stdout once listening; exits on SIGTERM or SIGINT.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import {
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';

const { values } = parseArgs({
  options: {
    supergraph: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
  },
});
if (!values.supergraph || !values.port) {
  process.stderr.write('usage: node gateway.mjs --supergraph FILE --port N [--host 127.0.0.1]\n');
  process.exit(2);
}

const gateway = new ApolloGateway({ supergraphSdl: readFileSync(values.supergraph, 'utf8') });
const server = new ApolloServer({
  gateway,
  introspection: true,
  csrfPrevention: false,
  // Answers are compared with our router's: no stack traces in `extensions`.
  includeStacktraceInErrorResponses: false,
  plugins: [ApolloServerPluginLandingPageDisabled(), ApolloServerPluginUsageReportingDisabled()],
});

const { url } = await startStandaloneServer(server, {
  listen: { host: values.host, port: Number(values.port) },
});
// startStandaloneServer serves every path; /graphql is the one the harness uses.
process.stdout.write(`ready ${new URL('graphql', url).href}\n`);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  try {
    await server.stop();
  } finally {
    process.exit(0);
  }
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
