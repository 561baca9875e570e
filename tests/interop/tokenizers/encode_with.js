// Encode OUT_DIR/inputs.json with a tokenizer.json we wrote, using the HF core, so the interop test can check that
// Hugging Face loads our file and encodes exactly as we do. Usage: node encode_with.js TOKENIZER_JSON OUT_DIR NAME
'use strict';
const fs = require('fs');
const path = require('path');

const tk = require(path.join(__dirname, '..', 'node_modules', '@anush008', 'tokenizers'));
const [tokenizerFile, outDir, name] = process.argv.slice(2);

(async () => {
  const tok = tk.Tokenizer.fromFile(tokenizerFile);
  const inputs = JSON.parse(fs.readFileSync(path.join(outDir, 'inputs.json'), 'utf8'));
  const single = [];
  const decoded = [];
  for (const text of inputs.single) {
    const e = await tok.encode(text, null, { addSpecialTokens: true });
    single.push({ ids: e.getIds(), type_ids: e.getTypeIds(), attention_mask: e.getAttentionMask(),
                  special_tokens_mask: e.getSpecialTokensMask(), offsets: e.getOffsets() });
    decoded.push(await tok.decode(e.getIds(), false));
  }
  fs.writeFileSync(path.join(outDir, `${name}.golden.json`), JSON.stringify({ single, decoded, vocab_size: tok.getVocabSize(true) }));
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
