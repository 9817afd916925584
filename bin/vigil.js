#!/usr/bin/env node
// The `vigil` command. Sources are TypeScript; tsx compiles them on load, on Node 20 and later.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/index.ts');
await main(process.argv);
