// Compiles standard JSON from stdin with solc-js and writes the result to
// stdout synchronously. solc-js's own CLI exits before a large output has
// drained into a pipe, which truncates it at 64 KiB.
const fs = require('fs');
const path = require('path');
const solc = require(path.join(__dirname, '..', 'node_modules', 'solc'));

const input = fs.readFileSync(0, 'utf8');
const out = Buffer.from(solc.compile(input));
let off = 0;
while (off < out.length) {
  try {
    off += fs.writeSync(1, out, off, out.length - off);
  } catch (e) {
    if (e.code !== 'EAGAIN') throw e;
  }
}
