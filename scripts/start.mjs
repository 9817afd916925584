#!/usr/bin/env node
// `npm start`: the quick start. Initialises an embedded installation in ./.vigil on first run,
// then serves it (admin API on 127.0.0.1:8080, device endpoint on 127.0.0.1:8443).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const dataDir = process.env.VIGIL_DATA ?? '.vigil';
const vigil = join(import.meta.dirname, '..', 'bin', 'vigil.js');
const run = (args) => spawnSync(process.execPath, [vigil, ...args], { stdio: 'inherit' }).status ?? 1;

if (!existsSync(join(dataDir, 'vigil.json'))) {
  const status = run(['init', '--data', dataDir]);
  if (status !== 0) process.exit(status);
}
process.exit(run(['serve', '--data', dataDir, ...process.argv.slice(2)]));
