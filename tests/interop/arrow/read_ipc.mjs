// Read an Arrow IPC file (stream or file format) with the official apache-arrow and print it as JSON
// (see arrow_json.mjs for the shape). Usage: node read_ipc.mjs FILE
import { readFileSync } from 'node:fs';
import { tableFromIPC } from 'apache-arrow';
import { describeTable, stringify } from './arrow_json.mjs';

const table = tableFromIPC(readFileSync(process.argv[2]));
process.stdout.write(stringify(describeTable(table)) + '\n');
