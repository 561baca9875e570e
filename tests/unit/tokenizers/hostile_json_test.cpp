// Hostile tokenizer.json: every field of valid files replaced by every JSON type (or removed) must either load
// or throw tcpp::Error naming the file — never another exception type, never a crash.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "tcpp/core/error.h"
#include "tcpp/tokenizers/tokenizer.h"

namespace tcpp::tokenizers {
namespace {

const char* kBertLike = R"({
  "version": "1.0",
  "truncation": {"direction": "Right", "max_length": 8, "strategy": "LongestFirst", "stride": 0},
  "padding": {"strategy": {"Fixed": 10}, "direction": "Left", "pad_to_multiple_of": null, "pad_id": 0, "pad_type_id": 0, "pad_token": "[PAD]"},
  "added_tokens": [{"id": 0, "content": "[PAD]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}],
  "normalizer": {"type": "Sequence", "normalizers": [{"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                 "strip_accents": null, "lowercase": true}, {"type": "Replace", "pattern": {"Regex": "a+"}, "content": "a"}]},
  "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "BertPreTokenizer"}, {"type": "Metaspace", "replacement": "_",
                    "prepend_scheme": "first", "split": true}, {"type": "Split", "pattern": {"String": "-"}, "behavior": "Isolated", "invert": false}]},
  "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                     "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
                     "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]}}},
  "decoder": {"type": "Sequence", "decoders": [{"type": "WordPiece", "prefix": "##", "cleanup": true}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
  "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100,
            "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "_a": 3, "##b": 4}}
})";

const char* kBpe = R"({
  "version": "1.0",
  "added_tokens": [{"id": 5, "content": "<s>", "special": true, "lstrip": true, "rstrip": true, "single_word": true}],
  "normalizer": {"type": "NFKC"},
  "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
  "post_processor": {"type": "RobertaProcessing", "sep": ["<s>", 5], "cls": ["<s>", 5], "trim_offsets": true, "add_prefix_space": true},
  "decoder": {"type": "ByteLevel"},
  "model": {"type": "BPE", "dropout": null, "unk_token": "a", "continuing_subword_prefix": null, "end_of_word_suffix": null,
            "fuse_unk": true, "byte_fallback": true, "vocab": {"a": 0, "b": 1, "ab": 2, "\u0120": 3, "\u0120ab": 4}, "merges": ["a b", ["\u0120", "ab"]]}
})";

const char* kUnigram = R"({
  "model": {"type": "Unigram", "unk_id": 0, "byte_fallback": true, "vocab": [["<unk>", 0.0], ["a", -1.0], ["<0x41>", -2.0]]},
  "pre_tokenizer": {"type": "Digits", "individual_digits": true},
  "decoder": {"type": "Sequence", "decoders": [{"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Replace", "pattern": {"String": "_"}, "content": " "}]}
})";

// Visit every value of j in a fixed order, calling f with a function that erases it from its parent; the walk
// ends as soon as f returns true.
void for_each_node(Json& root, const std::function<bool(Json& node, const std::function<void()>& erase)>& f) {
  bool stop = false;
  std::function<void(Json&)> walk = [&](Json& node) {
    if (node.is_object()) {
      std::vector<std::string> keys;
      for (auto it = node.begin(); it != node.end(); ++it) keys.push_back(it.key());
      for (const auto& k : keys) {
        if (stop || (stop = f(node[k], [&node, k] { node.erase(k); }))) return;
        walk(node[k]);
      }
    } else if (node.is_array()) {
      for (size_t i = 0; i < node.size(); ++i) {
        if (stop || (stop = f(node[i], [&node, i] { node.erase(node.begin() + static_cast<std::ptrdiff_t>(i)); }))) return;
        walk(node[i]);
      }
    }
  };
  walk(root);
}

void check_all_mutations(const char* text) {
  const Json original = Json::parse(text);
  const std::vector<Json> replacements = {nullptr, true, -1, 0, 4294967296ll, 1e300, "x", "", Json::array(), Json::object(),
                                          Json::array({1, 2}), Json::array({"a", 7})};
  size_t loaded = 0, rejected = 0;
  // Count nodes first so that each mutation starts from a fresh copy.
  size_t nodes = 0;
  {
    Json copy = original;
    for_each_node(copy, [&](Json&, const std::function<void()>&) {
      ++nodes;
      return false;
    });
  }
  for (size_t target = 0; target < nodes; ++target) {
    for (size_t r = 0; r <= replacements.size(); ++r) {
      Json copy = original;
      size_t index = 0;
      for_each_node(copy, [&](Json& node, const std::function<void()>& erase) {
        if (index++ != target) return false;
        if (r == replacements.size()) {
          erase();
        } else {
          node = replacements[r];
        }
        return true;
      });
      try {
        Tokenizer tok = Tokenizer::from_json(copy, "tokenizer.json");
        ++loaded;
        for (const char* s : {"ab a-b", "", "A1 \xC3\xA9 \xE4\xB8\xAD <s>"}) {
          try {
            Encoding e = tok.encode(s);
            tok.encode_pair(s, "b");
            tok.decode(e.ids, /*skip_special_tokens=*/true);
          } catch (const Error&) {
          }
        }
      } catch (const Error& e) {
        ++rejected;
        EXPECT_NE(std::string(e.what()).find("tokenizer.json"), std::string::npos) << e.what();
      } catch (const std::exception& e) {
        ADD_FAILURE() << "mutation of node " << target << " with replacement " << r << " threw a non-tcpp exception: " << e.what()
                      << "\n" << copy.dump();
        return;
      }
    }
  }
  EXPECT_GT(loaded, 0u);
  EXPECT_GT(rejected, 0u);
}

TEST(HostileJsonTest, BertLikeTokenizerMutationsLoadOrFailCleanly) { check_all_mutations(kBertLike); }
TEST(HostileJsonTest, BpeTokenizerMutationsLoadOrFailCleanly) { check_all_mutations(kBpe); }
TEST(HostileJsonTest, UnigramTokenizerMutationsLoadOrFailCleanly) { check_all_mutations(kUnigram); }

}  // namespace
}  // namespace tcpp::tokenizers
