// Writes seed inputs for the fuzz targets with the project's own writers: Arrow IPC (stream and file format)
// made by the json/text builders, and parquet files hand-assembled as tests/unit/datasets/parquet_test.cpp
// does. Usage: make_fuzz_seeds OUT_DIR (writes OUT_DIR/<target>/<name>).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "parquet_test_file.h"
#include "tcpp/core/error.h"
#include "tcpp/datasets/arrow/ipc.h"
#include "tcpp/datasets/builders/builders.h"
#include "tcpp/tokenizers/trainers.h"

namespace fs = std::filesystem;
using namespace tcpp::datasets;
using namespace tcpp::datasets::testing;

namespace {

void write(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

void arrow_seeds(const fs::path& out) {
  fs::path tmp = out / "tmp";
  fs::create_directories(tmp);
  fs::create_directories(out / "arrow_ipc");
  write(tmp / "in.jsonl",
        "{\"text\": \"hello w\\u00f6rld\", \"n\": 1, \"x\": 0.5, \"b\": true, \"ids\": [1, 2], \"s\": {\"a\": 1}}\n"
        "{\"text\": null, \"n\": -7, \"x\": null, \"b\": false, \"ids\": [], \"s\": {\"a\": null}}\n"
        "{\"text\": \"\", \"n\": 3, \"x\": 1e300, \"b\": null, \"ids\": null, \"s\": null}\n");
  write(tmp / "in.txt", "first line\nsecond \xc3\xa9\n\nlast");
  LoadOptions options;
  options.writer_batch_size = 2;
  builders::build_json({(tmp / "in.jsonl").string()}, options, (out / "arrow_ipc/json_stream.arrow").string(), "s");
  builders::build_text({(tmp / "in.txt").string()}, options, (out / "arrow_ipc/text_stream.arrow").string(), "s");
  auto table = arrow::read_ipc_file((out / "arrow_ipc/json_stream.arrow").string());
  arrow::write_ipc_file((out / "arrow_ipc/json_file.arrow").string(), table, arrow::IpcFormat::kFile);
  // Every temporal type, with a null and a value each.
  arrow::Table temporal;
  arrow::RecordBatch batch;
  using arrow::TimeUnit;
  for (const auto& [type, text] : std::vector<std::pair<arrow::DataType, std::string>>{
           {arrow::date32(), "2024-02-29"},
           {arrow::date64(), "1969-12-31"},
           {arrow::time32(TimeUnit::kMilli), "12:00:00.250"},
           {arrow::time64(TimeUnit::kNano), "23:59:59.999999999"},
           {arrow::timestamp(TimeUnit::kMicro, "UTC"), "2000-01-01T00:00:00.000001Z"},
           {arrow::timestamp(TimeUnit::kSecond), "1970-01-01T00:00:00"}}) {
    temporal.schema.fields.push_back(arrow::field("c" + std::to_string(batch.columns.size()), type));
    arrow::ArrayBuilder b(type);
    b.append_json(tcpp::Json(text));
    b.append_null();
    batch.columns.push_back(b.finish());
  }
  arrow::ArrayBuilder d(arrow::duration(TimeUnit::kNano));
  d.append_json(tcpp::Json(-5));
  d.append_null();
  temporal.schema.fields.push_back(arrow::field("d", arrow::duration(TimeUnit::kNano)));
  batch.columns.push_back(d.finish());
  batch.num_rows = 2;
  temporal.batches.push_back(std::move(batch));
  arrow::write_ipc_file((out / "arrow_ipc/temporal_file.arrow").string(), temporal, arrow::IpcFormat::kFile);
  fs::remove_all(tmp);
}

void parquet_seeds(const fs::path& out) {
  fs::path dir = out / "parquet";
  std::vector<int32_t> ints{1, -2, 2147483647};
  write(dir / "int32.parquet",
        parquet_file({root(1), leaf("x", kInt32, kRequired)}, {{3, {chunk(kInt32, {"x"}, 3, {data_page(plain(ints), 3)})}}}));
  Page dict = dictionary_page(plain_strings({"a", "bc"}), 2, kPlainDictionary);
  Page data = data_page(v1_levels("\x03\x0d") + "\x01" + "\x03\x05", 4, kPlainDictionary);
  write(dir / "dict_strings.parquet", parquet_file({root(1), leaf("s", kByteArray, kOptional, kUtf8)},
                                                   {{4, {chunk(kByteArray, {"s"}, 4, {dict, data})}}}));
  // DATE, TIME (millis) and TIMESTAMP (micros, UTC) logical types, and a legacy TIMESTAMP_MILLIS.
  write(dir / "temporal.parquet",
        parquet_file({root(4), logical_leaf("d", kInt32, 6), logical_leaf("t", kInt32, 7, true, 1),
                      logical_leaf("ts", kInt64, 8, true, 2), leaf("old", kInt64, kRequired, 9)},
                     {{2,
                       {chunk(kInt32, {"d"}, 2, {data_page(plain<int32_t>({19782, -1}), 2)}),
                        chunk(kInt32, {"t"}, 2, {data_page(plain<int32_t>({43200250, 0}), 2)}),
                        chunk(kInt64, {"ts"}, 2, {data_page(plain<int64_t>({946684800000001, 0}), 2)}),
                        chunk(kInt64, {"old"}, 2, {data_page(plain<int64_t>({1500, 0}), 2)})}}}));
  Page dict2 = dictionary_page(plain<int64_t>({7, 9}), 2);
  Page v2 = data_page_v2(std::string("\x06\x01\x02\x00\x02\x01", 6) + "\x01" + std::string("\x06\x00\x02\x01", 4), 5,
                         kRleDictionary, /*num_nulls=*/1, /*def_length=*/6);
  Chunk c1 = chunk(kInt64, {"n"}, 2, {data_page(v1_levels(std::string("\x02\x00\x02\x01", 4)) + plain<int64_t>({-5}), 2)});
  write(dir / "v2_two_row_groups.parquet", parquet_file({root(1), leaf("n", kInt64, kOptional)},
                                                        {{5, {chunk(kInt64, {"n"}, 5, {dict2, v2})}}, {2, {c1}}}));
  Chunk b = chunk(kBoolean, {"b"}, 3, {data_page("\x05", 3)});
  Chunk f = chunk(kFloat, {"f"}, 3, {data_page(plain<float>({0.5f, -1.25f, 3.0f}), 3)});
  Chunk g = chunk(kDouble, {"g"}, 3, {data_page(plain<double>({0.1, 1e300, -2.0}), 3)});
  write(dir / "bool_float_double.parquet",
        parquet_file({root(3), leaf("b", kBoolean, kRequired), leaf("f", kFloat, kRequired), leaf("g", kDouble, kRequired)},
                     {{3, {b, f, g}}}));
  Page lp = data_page(v1_levels("\x03\x22") + v1_levels("\x03\x1f\x0e") + plain<int32_t>({1, 2, 4}), 6);
  write(dir / "list.parquet",
        parquet_file({root(1), group("tokens", kOptional, 1, /*LIST*/ 3), group("list", kRepeated, 1),
                      leaf("element", kInt32, kOptional)},
                     {{4, {chunk(kInt32, {"tokens", "list", "element"}, 6, {lp})}}}));
  Page rp = data_page(v1_levels("\x03\x02") + v1_levels("\x03\x0b") + plain<int32_t>({1, 2, 3}), 4);
  write(dir / "repeated.parquet",
        parquet_file({root(1), leaf("ids", kInt32, kRepeated)}, {{3, {chunk(kInt32, {"ids"}, 4, {rp})}}}));
}

// Tokenizers trained by our own trainers on a few sentences: tokenizer.json for each model, and the legacy
// files (vocab.json + merges.txt, vocab.txt) cut from the BPE and WordPiece ones.
void tokenizer_seeds(const fs::path& out) {
  const std::vector<std::string> texts = {
      "The quick brown fox jumps over the lazy dog.", "Hello, world! Hello again, wide world.",
      "caf\xc3\xa9 na\xc3\xafve \xe4\xb8\xad\xe6\x96\x87 12345 tokens, tokenizers and tokenization.",
      "  leading spaces\ttabs\nnew lines -- dashes -- and [brackets]"};
  auto source = [&](const tcpp::tokenizers::TextBatchSink& sink) { sink(texts); };
  using tcpp::tokenizers::TrainerModel;
  struct Spec {
    TrainerModel model;
    size_t vocab_size;
    const char* name;
  };
  for (const Spec& spec : {Spec{TrainerModel::kBpe, 300, "bpe"}, Spec{TrainerModel::kWordPiece, 120, "wordpiece"},
                           Spec{TrainerModel::kUnigram, 60, "unigram"}}) {
    tcpp::tokenizers::TokenizerTrainingOptions options;
    options.model = spec.model;
    options.vocab_size = spec.vocab_size;
    if (spec.model == TrainerModel::kWordPiece) {
      options.special_tokens = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
      options.unk_token = "[UNK]";
    } else if (spec.model == TrainerModel::kBpe) {
      options.special_tokens = {"<|endoftext|>"};
    }
    tcpp::Json j = tcpp::tokenizers::train_tokenizer(source, options);
    write(out / "tokenizer_json" / (std::string("trained_") + spec.name + ".json"), j.dump(1));
    if (spec.model == TrainerModel::kBpe) {
      std::string merges = "#version: 0.2\n";
      for (const auto& m : j["model"]["merges"])
        merges += (m.is_string() ? m.get<std::string>() : m[0].get<std::string>() + " " + m[1].get<std::string>()) + "\n";
      write(out / "gpt2_vocab/trained.bin", j["model"]["vocab"].dump() + std::string(1, '\0') + merges);
    } else if (spec.model == TrainerModel::kWordPiece) {
      std::vector<std::string> by_id(j["model"]["vocab"].size());
      for (const auto& [token, id] : j["model"]["vocab"].items()) by_id.at(id.get<size_t>()) = token;
      std::string vocab;
      for (const auto& t : by_id) vocab += t + "\n";
      write(out / "bert_vocab/trained.txt", vocab);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_fuzz_seeds OUT_DIR\n");
    return 2;
  }
  try {
    arrow_seeds(argv[1]);
    parquet_seeds(argv[1]);
    tokenizer_seeds(argv[1]);
  } catch (const tcpp::Error& e) {
    std::fprintf(stderr, "make_fuzz_seeds: %s\n", e.what());
    return 1;
  }
  return 0;
}
