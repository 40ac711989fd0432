// Composes subgraphs with Apollo's composition, the reference for router/compose.py.
//
//   echo '[{"name": "a", "url": "http://…/graphql", "sdl": "…"}]' | node compose.mjs
//
// Success: the supergraph SDL on stdout, exit 0. Composition errors: one per line on stderr
// ("CODE: message", newlines inside a message folded to spaces), exit 1. Bad input: exit 2.
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

function oneLine(text) {
  return String(text).replace(/\s*\n\s*/g, ' ').trim();
}

let services;
try {
  const input = JSON.parse(await readStdin());
  if (!Array.isArray(input)) throw new Error('expected a JSON array of {name, url, sdl}');
  services = input.map(({ name, url, sdl }) => ({ name, url, typeDefs: parse(sdl) }));
} catch (error) {
  process.stderr.write(`INVALID_INPUT: ${oneLine(error.message)}\n`);
  process.exit(2);
}

const result = composeServices(services);
if (result.errors && result.errors.length > 0) {
  for (const error of result.errors) {
    const code = error.extensions?.code ?? 'COMPOSITION_ERROR';
    process.stderr.write(`${code}: ${oneLine(error.message)}\n`);
  }
  process.exit(1);
}
process.stdout.write(result.supergraphSdl);
