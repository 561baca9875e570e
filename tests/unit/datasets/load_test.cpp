// load_dataset: text and json builders, type inference errors with file:line, fingerprinted cache reuse.
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tcpp/core/error.h"
#include "tcpp/core/lock.h"
#include "tcpp/datasets/arrow/ipc.h"
#include "tcpp/datasets/builders/lines.h"
#include "tcpp/datasets/builders/utf8.h"
#include "tcpp/datasets/load.h"
#include "tcpp/datasets/split.h"
#include "test_util.h"

namespace tcpp::datasets {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;
using testing::TempDir;

// The builders' UTF-8 check (ASCII skipped 32 and 8 bytes at a time) finds the same first invalid byte as a plain
// byte-by-byte decoder, wherever it sits relative to those strides.
size_t first_invalid_utf8_bytewise(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
    if (len == 0 || i + len > s.size()) return i;
    uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1fu) : len == 3 ? (c & 0x0fu) : (c & 0x07u);
    for (size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return i;
      cp = cp << 6 | (cc & 0x3fu);
    }
    const uint32_t min = len == 1 ? 0 : len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += len;
  }
  return std::string::npos;
}

TEST(Utf8CheckTest, FindsTheFirstInvalidByteAtAnyOffset) {
  std::mt19937 rng(7);
  const std::vector<std::string> pieces = {"a", "The jury said ", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\n"};
  const std::vector<std::string> bad = {"\xC3", "\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xFF", "\x80"};
  for (int trial = 0; trial < 3000; ++trial) {
    std::string s;
    const size_t len = rng() % 200;
    while (s.size() < len) s += pieces[rng() % pieces.size()];
    if (trial % 3 != 0) s.insert(rng() % (s.size() + 1), bad[rng() % bad.size()]);
    ASSERT_EQ(builders::find_invalid_utf8(s), first_invalid_utf8_bytewise(s)) << trial;
  }
  std::string ascii(100, 'x');
  for (size_t at = 0; at < ascii.size(); ++at) {
    std::string s = ascii;
    s[at] = static_cast<char>(0x80);
    EXPECT_EQ(builders::find_invalid_utf8(s), at);
  }
}

void write(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary).write(text.data(), static_cast<std::streamsize>(text.size()));
}

std::vector<Json> texts(const Dataset& d) { return d.column("text"); }

Dataset load_one(const TempDir& dir, const std::string& file, LoadOptions options = {}) {
  options.data_files = {{"train", {dir.file(file)}}};
  options.cache_dir = dir.file("cache");
  return load_dataset(options).at("train");
}

TEST(LoadTextTest, OneRowPerLineWithoutLinebreaksByDefault) {
  TempDir dir;
  write(dir.file("a.txt"), "first line\n\nthird\r\nfourth\rfifth");
  Dataset d = load_one(dir, "a.txt");
  EXPECT_EQ(d.column_names(), std::vector<std::string>{"text"});
  EXPECT_EQ(texts(d), (std::vector<Json>{"first line", "", "third", "fourth", "fifth"}));
}

TEST(LoadTextTest, KeepLinebreaksKeepsTranslatedNewlines) {
  TempDir dir;
  write(dir.file("a.txt"), "a\r\nb\n\nc");
  LoadOptions o;
  o.keep_linebreaks = true;
  EXPECT_EQ(texts(load_one(dir, "a.txt", o)), (std::vector<Json>{"a\n", "b\n", "\n", "c"}));
}

TEST(LoadTextTest, SplitsOnEveryPythonSplitlinesBoundary) {
  TempDir dir;
  write(dir.file("a.txt"), "a\x0b" "b\x0c" "c\xc2\x85" "d\xe2\x80\xa8" "e\xe2\x80\xa9" "f\x1c" "g");
  EXPECT_EQ(texts(load_one(dir, "a.txt")), (std::vector<Json>{"a", "b", "c", "d", "e", "f", "g"}));
}

TEST(LoadTextTest, ParagraphAndDocumentSampling) {
  TempDir dir;
  write(dir.file("a.txt"), "p1 l1\np1 l2\n\np2\n\n\n\np3\n");
  LoadOptions o;
  o.sample_by = "paragraph";
  EXPECT_EQ(texts(load_one(dir, "a.txt", o)), (std::vector<Json>{"p1 l1\np1 l2", "p2", "p3\n"}));
  o.sample_by = "document";
  EXPECT_EQ(texts(load_one(dir, "a.txt", o)), (std::vector<Json>{"p1 l1\np1 l2\n\np2\n\n\n\np3\n"}));
}

TEST(LoadTextTest, EmptyFileGivesNoRows) {
  TempDir dir;
  write(dir.file("a.txt"), "");
  EXPECT_EQ(load_one(dir, "a.txt").num_rows(), 0);
}

TEST(LoadTextTest, InvalidUtf8NamesFileAndLine) {
  TempDir dir;
  write(dir.file("bad.txt"), "ok\nstill ok\nbad \xff here\n");
  EXPECT_THAT([&] { load_one(dir, "bad.txt"); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("bad.txt:3"), HasSubstr("invalid UTF-8"))));
}

TEST(LoadTextTest, ManyRowsAreSplitIntoWriterBatches) {
  TempDir dir;
  std::string text;
  for (int i = 0; i < 2500; ++i) text += "line " + std::to_string(i) + "\n";
  write(dir.file("a.txt"), text);
  Dataset d = load_one(dir, "a.txt");
  EXPECT_EQ(d.num_rows(), 2500);
  EXPECT_EQ(d.row(2499)["text"], "line 2499");
  auto table = arrow::read_ipc_file(d.cache_files()[0]);
  EXPECT_EQ(table.batches.size(), 3u);
}

// The text builder reads files in 1 MiB pieces and splits and checks them in one pass (scan_lines): fed any
// piece boundaries, it gives the rows of for_each_line over the whole text and finds the first invalid byte.
TEST(ScanLinesTest, GivesForEachLinesRowsWhereverThePiecesEnd) {
  std::mt19937 rng(11);
  const std::vector<std::string> parts = {"a",  "The jury ", "\t",       "\n",           "\r\n",         "\r",
                                          "\x0b", "\x1c",    "\x01",     "\xc2\x85",     "\xe2\x80\xa8", "\xe2\x80\xa9",
                                          "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\n\n", "0123456789abcdef0123"};
  const std::vector<std::string> bad = {"\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xff", "\x80"};
  for (int trial = 0; trial < 3000; ++trial) {
    std::string text;
    const size_t len = rng() % 300;
    while (text.size() < len) text += parts[rng() % parts.size()];
    if (trial % 4 == 3) text.insert(rng() % (text.size() + 1), bad[rng() % bad.size()]);
    const bool keep = trial % 2 == 1;
    std::vector<std::string> expected;
    const size_t invalid = builders::find_invalid_utf8(text);
    if (invalid == std::string::npos)
      builders::for_each_line(text, keep, [&](std::string_view row) {
        expected.emplace_back(row);
        return true;
      });
    // As read_lines: scan what has been read, keep the unfinished tail, read more.
    std::vector<std::string> got;
    std::string buf;
    size_t read = 0, at = 0, found = std::string::npos;
    while (true) {
      const size_t more = std::min(text.size() - read, static_cast<size_t>(rng() % 40));
      buf += text.substr(read, more);
      read += more;
      const bool at_end = read == text.size();
      auto scan = builders::scan_lines(buf, at_end, [&](std::string_view row, std::string_view line_break) {
        got.push_back(std::string(row) + (keep ? std::string(line_break) : std::string()));
      });
      if (scan.invalid != std::string_view::npos) {
        found = at + scan.invalid;
        break;
      }
      buf.erase(0, scan.consumed);
      at += scan.consumed;
      if (at_end) {
        ASSERT_TRUE(buf.empty()) << trial;
        break;
      }
    }
    ASSERT_EQ(found, invalid) << trial;
    if (invalid == std::string::npos) {
      ASSERT_EQ(got, expected) << trial;
    }
  }
}

// A file of several read pieces: lines, "\r\n" pairs and multi-byte characters cross the 1 MiB boundaries.
TEST(LoadTextTest, RowsAcrossReadPiecesAreThoseOfTheWholeFile) {
  TempDir dir;
  std::mt19937 rng(5);
  const std::vector<std::string> parts = {"word ", "\xc3\xa9t\xc3\xa9 ", "\xe2\x82\xac", "\r\n", "\n", "\r", "\xe2\x80\xa8", "\t"};
  std::string text;
  while (text.size() < (size_t{5} << 19)) text += parts[rng() % parts.size()];
  text += "last line without a break";
  write(dir.file("big.txt"), text);
  for (bool keep : {false, true}) {
    std::vector<Json> expected;
    builders::for_each_line(text, keep, [&](std::string_view row) {
      expected.emplace_back(std::string(row));
      return true;
    });
    LoadOptions o;
    o.keep_linebreaks = keep;
    EXPECT_EQ(texts(load_one(dir, "big.txt", o)), expected) << "keep_linebreaks " << keep;
  }
  // An invalid byte after the first piece is reported with its line, as for a small file.
  std::string bad = text.substr(0, size_t{3} << 19);
  const int64_t line = 1 + std::count(bad.begin(), bad.end(), '\n');
  write(dir.file("bad.txt"), bad + "\xff\n");
  EXPECT_THAT([&] { load_one(dir, "bad.txt"); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("bad.txt:" + std::to_string(line) + ":"), HasSubstr("invalid UTF-8"))));
}

// Cache files are not fsynced (as HF's): one cut short, as a power loss can leave it, is converted again, never read.
TEST(LoadDatasetTest, AnIncompleteCacheFileIsRebuilt) {
  TempDir dir;
  std::string text;
  for (int i = 0; i < 3000; ++i) text += "line " + std::to_string(i) + "\n";
  write(dir.file("a.txt"), text);
  Dataset first = load_one(dir, "a.txt");
  const std::string cache = first.cache_files()[0];
  EXPECT_TRUE(arrow::ipc_file_complete(cache));
  const auto size = std::filesystem::file_size(cache);
  for (auto cut : {size - 1, size / 2, decltype(size){0}}) {
    std::filesystem::resize_file(cache, cut);
    EXPECT_FALSE(arrow::ipc_file_complete(cache)) << cut;
    Dataset again = load_one(dir, "a.txt");
    EXPECT_EQ(again.cache_files(), first.cache_files());
    EXPECT_EQ(std::filesystem::file_size(cache), size) << "not rebuilt after a cut to " << cut << " bytes";
    EXPECT_EQ(again.num_rows(), 3000);
    EXPECT_EQ(again.row(2999)["text"], "line 2999");
  }
}

// The JSON Lines fast path checks UTF-8 as it scans strings (no pass of its own): a malformed sequence in a value, a
// key, an escaped string, a nested value or after the first 10000 lines is reported with its line, as for text.
TEST(LoadJsonTest, InvalidUtf8NamesFileAndLine) {
  TempDir dir;
  std::string good;
  for (int i = 0; i < 12000; ++i) good += "{\"text\": \"r\xc3\xa9sum\xc3\xa9 " + std::to_string(i) + "\", \"n\": " + std::to_string(i) + "}\n";
  const std::vector<std::string> bad = {"{\"text\": \"bad \xff here\", \"n\": 1}", "{\"te\xc0\xafxt\": \"x\", \"n\": 1}",
                                        "{\"text\": \"esc\\n \xed\xa0\x80\", \"n\": 1}", "{\"text\": \"x\", \"n\": 1, \"l\": [\"\xc3\"]}"};
  for (const auto& line : bad) {
    for (const std::string& before : {std::string("{\"text\": \"a\", \"n\": 0}\n"), good}) {
      write(dir.file("bad.jsonl"), before + line + "\n");
      const int64_t line_no = 1 + std::count(before.begin(), before.end(), '\n');
      EXPECT_THAT([&] { load_one(dir, "bad.jsonl"); },
                  ThrowsMessage<InputError>(AllOf(HasSubstr("bad.jsonl:" + std::to_string(line_no)), HasSubstr("invalid UTF-8"))))
          << line;
    }
  }
}

// Lines cross the fast path's 1 MiB read pieces (and a byte order mark starts the file): every row is read whole.
TEST(LoadJsonTest, JsonLinesAcrossReadPiecesAreReadWhole) {
  TempDir dir;
  std::string text = "\xef\xbb\xbf";
  int64_t rows = 0;
  while (text.size() < (size_t{5} << 19)) {
    text += "{\"text\": \"" + std::string(static_cast<size_t>(rows % 97), 'x') + "\xe2\x82\xac\", \"n\": " + std::to_string(rows) + "}\n";
    if (rows % 1000 == 0) text += "\n";
    ++rows;
  }
  write(dir.file("a.jsonl"), text);
  Dataset d = load_one(dir, "a.jsonl");
  ASSERT_EQ(d.num_rows(), rows);
  for (int64_t r : {int64_t{0}, rows / 3, rows / 2, rows - 1}) {
    EXPECT_EQ(d.row(r)["n"], r);
    EXPECT_EQ(d.row(r)["text"], std::string(static_cast<size_t>(r % 97), 'x') + "\xe2\x82\xac");
  }
}

TEST(LoadJsonTest, JsonLinesInfersTypesAndUnionOfKeys) {
  TempDir dir;
  write(dir.file("a.jsonl"),
        R"({"text": "a", "n": 1, "x": 1, "ok": true, "ids": [1, 2]})" "\n"
        "\n"
        R"({"text": "b", "n": 2, "x": 2.5, "ok": null, "ids": [], "extra": {"k": "v"}})" "\n");
  Dataset d = load_one(dir, "a.jsonl");
  EXPECT_EQ(d.column_names(), (std::vector<std::string>{"text", "n", "x", "ok", "ids", "extra"}));
  auto s = d.schema();
  EXPECT_EQ(s.fields[1].type.to_string(), "int64");
  EXPECT_EQ(s.fields[2].type.to_string(), "double");
  EXPECT_EQ(s.fields[3].type.to_string(), "bool");
  EXPECT_EQ(s.fields[4].type.to_string(), "list<item: int64>");
  EXPECT_EQ(s.fields[5].type.to_string(), "struct<k: string>");
  EXPECT_EQ(d.row(0), Json::parse(R"({"text": "a", "n": 1, "x": 1.0, "ok": true, "ids": [1, 2], "extra": null})"));
  EXPECT_EQ(d.row(1)["extra"], Json::parse(R"({"k": "v"})"));
}

TEST(LoadJsonTest, TopLevelArrayOfRecordsOrStrings) {
  TempDir dir;
  write(dir.file("a.json"), R"( [{"text": "x"}, {"text": "y", "id": 3}] )");
  Dataset d = load_one(dir, "a.json");
  EXPECT_EQ(d.num_rows(), 2);
  EXPECT_EQ(d.row(1), Json::parse(R"({"text": "y", "id": 3})"));
  write(dir.file("s.json"), R"(["one", "two"])");
  EXPECT_EQ(texts(load_one(dir, "s.json")), (std::vector<Json>{"one", "two"}));
}

TEST(LoadJsonTest, FieldSelectsNestedRecords) {
  TempDir dir;
  write(dir.file("a.json"), "{\"version\": 1,\n \"data\": [{\"a\": 1}, {\"a\": 2}]}");
  LoadOptions o;
  o.field = "data";
  EXPECT_EQ(load_one(dir, "a.json", o).column("a"), (std::vector<Json>{1, 2}));
}

// A list of records is read one record at a time (docs/RELIABILITY.md §4): each item's extent is found by following
// strings and nesting, then the item is parsed alone. Brackets, braces and escaped quotes inside strings must not
// end an item early; errors name the line and column in the whole file.
TEST(LoadJsonTest, ListItemsAreFoundPastBracketsAndQuotesInStrings) {
  TempDir dir;
  write(dir.file("a.json"),
        "[\n{\"text\": \"a ] } \\\" [ {\", \"n\": [[1], [2, 3]]},\n\"b\\\\\",\n {\"text\": \"\"}\n]\n");
  Dataset d = load_one(dir, "a.json");
  EXPECT_EQ(texts(d), (std::vector<Json>{"a ] } \" [ {", "b\\", ""}));
  write(dir.file("empty.json"), " [ ] ");
  EXPECT_EQ(load_one(dir, "empty.json").num_rows(), 0);
}

TEST(LoadJsonTest, BrokenListsNameFileLineAndColumn) {
  TempDir dir;
  struct Case {
    const char* text;
    const char* where;
    const char* what;
  };
  for (const Case& c : {Case{"[{\"a\": 1},\n {\"a\": 2,}]", ":2:", "invalid JSON"},
                        Case{"[{\"a\": 1}\n {\"a\": 2}]", ":2:2", "expected ',' or ']' after item 0"},
                        Case{"[{\"a\": 1},\n {\"a\": 2}", ":1:1", "the array that starts here is never closed"},
                        Case{"[{\"a\": 1}, {\"a\": \"x}]\n", ":1:18", "the string that starts here is never closed"},
                        Case{"[{\"a\": 1},]", ":1:11", "expected a JSON value, found ']'"},
                        Case{"[{\"a\": 1}\x01]", ":1:10",
                             "expected ',' or ']' after item 0 of the array, found byte 0x01"},
                        Case{"[{\"a\": 1}]\n[{\"a\": 2}]", ":2:1", "unexpected text after the top-level value"},
                        Case{"[{\"a\": 1},\n 2]", ":2: item 1", "expected a JSON object (one record), got 2"},
                        // Found by the json_loader fuzzer: nlohmann skips a byte order mark before a value.
                        Case{"[\"a\", \xef\xbb\xbf\"b\"]", ":1:7", "a byte order mark (EF BB BF) inside the document"}}) {
    write(dir.file("bad.json"), c.text);
    EXPECT_THAT([&] { load_one(dir, "bad.json"); },
                ThrowsMessage<InputError>(AllOf(HasSubstr("bad.json" + std::string(c.where)), HasSubstr(c.what))))
        << c.text;
  }
}

TEST(LoadJsonTest, FieldTakesTheListOfTheLastMemberOfThatName) {
  TempDir dir;
  LoadOptions o;
  o.field = "data";
  // json.load keeps the last of two equal keys; members before and after the list are checked, not built.
  write(dir.file("a.json"), R"({"data": [{"a": 1}], "meta": {"x": [1, "]"]}, "data": [{"a": 2}, {"a": 3}], "z": 0})");
  EXPECT_EQ(load_one(dir, "a.json", o).column("a"), (std::vector<Json>{2, 3}));
  struct Case {
    const char* text;
    const char* error;  // after "bad.json"
  };
  for (const Case& c : {
           Case{"{\"data\": 3}", ": \"data\" must be a list of records, got a number"},
           Case{"{\"rows\": []}", ": field=\"data\": expected a top-level object with that key"},
           Case{"[{\"data\": []}]", ": field=\"data\": expected a top-level object with that key"},
           // A skipped member is still checked, as json.load would; so is the earlier of two equal keys.
           Case{"{\"data\": [{\"a\": 1}],\n \"x\": [1, {\"b\": }]}",
                ":2:17: invalid JSON (syntax error while parsing value - unexpected '}'"},
           Case{"{\"data\": [{\"a\": 1},, {}],\n \"data\": [{\"a\": 2}]}", ":1:20: invalid JSON"},
           Case{"{\"data\": [{\"a\": 1}], \"x\": \xef\xbb\xbf" "1}", ":1:27: a byte order mark (EF BB BF) inside"},
           Case{"{\"data\": [{\"a\": 1}],\n \"x\" 1}", ":2:6: expected ':' after the key \"x\", found '1'"}}) {
    write(dir.file("bad.json"), c.text);
    EXPECT_THAT([&] { load_one(dir, "bad.json", o); },
                ThrowsMessage<InputError>(HasSubstr("bad.json" + std::string(c.error))))
        << c.text;
  }
}

TEST(LoadJsonTest, TopLevelObjectWithoutFieldListsItsKeys) {
  TempDir dir;
  write(dir.file("obj.json"), "{\n  \"version\": 1,\n  \"data\": []\n}\n");
  EXPECT_THAT([&] { load_one(dir, "obj.json"); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("obj.json"), HasSubstr("[version, data]"), HasSubstr("field="))));
}

TEST(LoadJsonTest, MalformedLineNamesFileAndLine) {
  TempDir dir;
  write(dir.file("bad.jsonl"), "{\"a\": 1}\n{\"a\": 2}\n{\"a\": \n");
  EXPECT_THAT([&] { load_one(dir, "bad.jsonl"); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("bad.jsonl:3"), HasSubstr("invalid JSON"))));
  // A byte order mark opens the file only (nlohmann would skip one before any line's value).
  write(dir.file("bom.jsonl"), "\xef\xbb\xbf{\"a\": 1}\n\xef\xbb\xbf{\"a\": 2}\n");
  EXPECT_THAT([&] { load_one(dir, "bom.jsonl"); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("bom.jsonl:2"), HasSubstr("a byte order mark"))));
}

TEST(LoadJsonTest, NumberTooLargeForADoubleNamesFileAndLine) {
  // Found by tests/fuzz: nlohmann reports "1e400" as out_of_range, which escaped the builder.
  TempDir dir;
  write(dir.file("big.jsonl"), "{\"a\": 1}\n{\"a\": 1e400}\n");
  EXPECT_THAT([&] { load_one(dir, "big.jsonl"); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("big.jsonl:2"), HasSubstr("1e400"))));
  write(dir.file("big.json"), "[{\"a\": 1},\n {\"a\": -1e400}]");
  EXPECT_THAT([&] { load_one(dir, "big.json"); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("big.json:2"), HasSubstr("1e400"))));
}

TEST(LoadJsonTest, TypeConflictNamesFileLineAndColumn) {
  TempDir dir;
  write(dir.file("mixed.jsonl"), "{\"a\": 1}\n{\"a\": null}\n{\"a\": \"x\"}\n");
  EXPECT_THAT([&] { load_one(dir, "mixed.jsonl"); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("mixed.jsonl:3"), HasSubstr("column \"a\""),
                                              HasSubstr("int64"), HasSubstr("mixed.jsonl:1"))));
  write(dir.file("list.jsonl"), "{\"a\": [1, \"x\"]}\n");
  EXPECT_THAT([&] { load_one(dir, "list.jsonl"); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("list.jsonl:1"), HasSubstr("column \"a\""))));
}

TEST(LoadJsonTest, NonObjectLineIsRejected) {
  TempDir dir;
  write(dir.file("n.jsonl"), "{\"a\": 1}\n42\n");
  EXPECT_THAT([&] { load_one(dir, "n.jsonl"); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("n.jsonl:2"), HasSubstr("expected a JSON object"))));
}

// JSON Lines of plain records take a fast path (members scanned in place); writer batches of more than 2000 rows
// take the general one (nlohmann documents per line). Both must give the same schema, rows and errors.
std::pair<Dataset, Dataset> load_both_paths(const TempDir& dir, const std::string& file) {
  LoadOptions general;
  general.writer_batch_size = 5000;
  general.cache_dir = dir.file("cache-general");
  general.data_files = {{"train", {dir.file(file)}}};
  return {load_one(dir, file), load_dataset(general).at("train")};
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(LoadJsonTest, JsonLinesFastPathReadsWhatTheGeneralPathReads) {
  TempDir dir;
  write(dir.file("a.jsonl"),
        "\xef\xbb\xbf"
        R"({"text": "plain", "n": 1, "x": 1.5, "b": true, "o": null, "l": [1, 2], "s": {"k": "v"}})" "\n"
        R"({"n": -7, "text": "esc \" \\ \/ \b\f\n\r\t \u00e9 \ud83d\ude00 \u0000 é", "x": 2, "b": false, "extra": "late"})" "\n"
        "   \t\n"
        R"({"text":"no spaces","n":9223372036854775807,"x":-0.0,"x2":1e-3,"b":null})" "\n"
        R"("a line holding a string")" "\n"
        R"({"text": "nested after", "l": [], "s": {"k": "w", "m": 1}, "n": 0})" "\r\n"
        R"({"n": 1, "n": 2, "text": "duplicate key"})" "\n"
        R"( { "x" : 1E+2 , "text" : "exp" , "o" : "now a string" } )" "\n"
        R"({})" "\n"
        R"({"x": 123456789012345678901234567890, "text": "big as a double", "x2": -2.5e-308})" "\n");
  auto [fast, general] = load_both_paths(dir, "a.jsonl");
  EXPECT_EQ(fast.schema().to_string(), general.schema().to_string());
  ASSERT_EQ(fast.num_rows(), 9);
  ASSERT_EQ(general.num_rows(), 9);
  for (int64_t i = 0; i < fast.num_rows(); ++i) EXPECT_EQ(fast.row(i), general.row(i)) << "row " << i;
  // And what they both read is right.
  EXPECT_EQ(fast.column_names(), (std::vector<std::string>{"text", "n", "x", "b", "o", "l", "s", "extra", "x2"}));
  EXPECT_EQ(fast.row(1)["text"], "esc \" \\ / \b\f\n\r\t \u00e9 \U0001F600 " + std::string(1, '\0') + " é");
  EXPECT_EQ(fast.row(1)["x"], 2.0);
  EXPECT_EQ(fast.row(2)["n"], 9223372036854775807LL);
  EXPECT_TRUE(std::signbit(fast.row(2)["x"].get<double>()));
  EXPECT_EQ(fast.row(3)["text"], "a line holding a string");
  EXPECT_EQ(fast.row(4)["s"], (Json{{"k", "w"}, {"m", 1}}));
  EXPECT_EQ(fast.row(6)["o"], "now a string");
  EXPECT_EQ(fast.row(6)["x"], 100.0);
  EXPECT_TRUE(fast.row(7)["text"].is_null());
}

// The fast path fixes the types from the first 10000 lines and writes in one pass; a later line that changes a type
// (widening, a new column, a column that was all null) sends it back to two passes. Same table either way.
TEST(LoadJsonTest, JsonLinesTypesThatChangeAfterTheFirstLinesGiveTheGeneralPathsTable) {
  TempDir dir;
  std::string a, b, c;
  for (int i = 0; i < 10010; ++i) {
    a += "{\"n\": " + std::to_string(i) + ", \"t\": \"r" + std::to_string(i) + "\", \"z\": null}\n";
  }
  b = a + "{\"n\": 2.5, \"t\": \"widened\"}\n";
  c = a + "{\"n\": 1, \"late\": [1, 2], \"z\": true}\n";
  write(dir.file("a.jsonl"), a);
  write(dir.file("b.jsonl"), b);
  write(dir.file("c.jsonl"), c);
  for (const char* name : {"a.jsonl", "b.jsonl", "c.jsonl"}) {
    auto [fast, general] = load_both_paths(dir, name);
    EXPECT_EQ(fast.schema().to_string(), general.schema().to_string()) << name;
    ASSERT_EQ(fast.num_rows(), general.num_rows()) << name;
    for (int64_t i : {int64_t{0}, int64_t{5000}, fast.num_rows() - 1}) EXPECT_EQ(fast.row(i), general.row(i)) << name << " row " << i;
  }
  auto [b_fast, b_general] = load_both_paths(dir, "b.jsonl");
  EXPECT_EQ(b_fast.row(3)["n"], 3.0);  // int64 widened to double over the whole column
  EXPECT_EQ(b_fast.schema().fields[0].type.to_string(), "double");
  auto [c_fast, c_general] = load_both_paths(dir, "c.jsonl");
  EXPECT_EQ(c_fast.column_names(), (std::vector<std::string>{"n", "t", "z", "late"}));
  EXPECT_EQ(c_fast.row(-1)["z"], true);
}

TEST(LoadJsonTest, JsonLinesFastPathErrorsAreTheGeneralPathsErrors) {
  TempDir dir;
  const std::vector<std::string> files = {
      "{\"a\": 1}\n{\"a\": \"x\"}\n",                    // type conflict
      "{\"a\": 1}\n{\"a\": 18446744073709551615}\n",     // an unsigned integer beyond int64
      "{\"a\": 1}\n{\"a\": 2,}\n",                       // malformed
      "{\"a\": \"\\ud800\"}\n",                          // a lone surrogate
      "{\"a\": \"tab\tinside\"}\n",                      // a raw control character
      "{\"a\": [1, \"x\"]}\n",                           // list items disagree
      "{\"a\": 1}\n{\"a\": 2} {\"a\": 3}\n",             // two records on a line
      "{\"a\": 1}\n\xff\n",                              // not UTF-8
      "{\"a\": 1}\n[1, 2]\n",                            // not a record
  };
  for (size_t k = 0; k < files.size(); ++k) {
    const std::string name = "e" + std::to_string(k) + ".jsonl";
    write(dir.file(name), files[k]);
    std::string fast = error_of([&] { (void)load_both_paths(dir, name).first; });
    LoadOptions general;
    general.writer_batch_size = 5000;
    general.cache_dir = dir.file("cache-general");
    general.data_files = {{"train", {dir.file(name)}}};
    std::string slow = error_of([&] { (void)load_dataset(general); });
    EXPECT_NE(fast, "(no error)") << files[k];
    EXPECT_EQ(fast, slow) << files[k];
  }
}

TEST(LoadDatasetTest, SecondLoadReusesTheCacheAndAChangedFileIsReread) {
  TempDir dir;
  write(dir.file("a.txt"), "one\ntwo\n");
  Dataset first = load_one(dir, "a.txt");
  Dataset again = load_one(dir, "a.txt");
  EXPECT_EQ(first.cache_files(), again.cache_files());
  EXPECT_EQ(first.fingerprint(), again.fingerprint());
  auto mtime = std::filesystem::last_write_time(first.cache_files()[0]);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  load_one(dir, "a.txt");
  EXPECT_EQ(std::filesystem::last_write_time(first.cache_files()[0]), mtime) << "the cache was rebuilt";

  write(dir.file("a.txt"), "one\ntwo\nthree\n");
  Dataset changed = load_one(dir, "a.txt");
  EXPECT_NE(changed.cache_files(), first.cache_files());
  EXPECT_EQ(changed.num_rows(), 3);
  LoadOptions o;
  o.keep_linebreaks = true;
  EXPECT_NE(load_one(dir, "a.txt", o).cache_files(), changed.cache_files());
}

TEST(LoadDatasetTest, CacheFileCarriesHuggingfaceFeaturesMetadata) {
  TempDir dir;
  write(dir.file("a.txt"), "x\n");
  Dataset d = load_one(dir, "a.txt");
  auto table = arrow::read_ipc_file(d.cache_files()[0]);
  auto hf = table.schema.metadata_value("huggingface");
  ASSERT_TRUE(hf.has_value());
  EXPECT_EQ(Json::parse(*hf)["info"]["features"], Json::parse(R"({"text": {"dtype": "string", "_type": "Value"}})"));
}

TEST(LoadDatasetTest, SplitsGlobsAndJsonlBuilderName) {
  TempDir dir;
  write(dir.file("t1.jsonl"), "{\"a\": 1}\n");
  write(dir.file("t2.jsonl"), "{\"a\": 2}\n");
  write(dir.file("v.jsonl"), "{\"a\": 3}\n");
  LoadOptions o;
  o.builder = "jsonl";
  o.cache_dir = dir.file("cache");
  o.data_files = {{"train", {dir.file("t*.jsonl")}}, {"validation", {dir.file("v.jsonl")}}};
  DatasetDict dd = load_dataset(o);
  EXPECT_EQ(dd.at("train").column("a"), (std::vector<Json>{1, 2}));
  EXPECT_EQ(dd.at("validation").column("a"), (std::vector<Json>{3}));
  EXPECT_NE(dd.at("train").fingerprint(), dd.at("validation").fingerprint());
}

TEST(LoadDatasetTest, MissingFilesAndUnknownBuildersAreClearErrors) {
  TempDir dir;
  LoadOptions o;
  o.cache_dir = dir.file("cache");
  o.data_files = {{"train", {dir.file("nope.txt")}}};
  EXPECT_THAT([&] { load_dataset(o); }, ThrowsMessage<InputError>(HasSubstr("nope.txt")));
  o.data_files = {{"train", {dir.file("*.nothing")}}};
  EXPECT_THAT([&] { load_dataset(o); }, ThrowsMessage<InputError>(HasSubstr("no data files match")));
  write(dir.file("a.xyz"), "x");
  o.data_files = {{"train", {dir.file("a.xyz")}}};
  EXPECT_THAT([&] { load_dataset(o); }, ThrowsMessage<InputError>(HasSubstr("a.xyz")));
}

TEST(LoadCsvTest, HeaderQuotingAndPandasTypeInference) {
  TempDir dir;
  write(dir.file("a.csv"),
        "text,n,x,flag,maybe\r\n"
        "\"hello, \"\"world\"\"\",1,1.5,True,3\r\n"
        "\n"
        "\"two\nlines\",2,2,False,\r\n"
        "plain,3,-1e3,True,5\r\n");
  Dataset d = load_one(dir, "a.csv");
  EXPECT_EQ(d.column_names(), (std::vector<std::string>{"text", "n", "x", "flag", "maybe"}));
  auto s = d.schema();
  EXPECT_EQ(s.fields[1].type.to_string(), "int64");
  EXPECT_EQ(s.fields[2].type.to_string(), "double");
  EXPECT_EQ(s.fields[3].type.to_string(), "bool");
  EXPECT_EQ(s.fields[4].type.to_string(), "double");  // an int column with a missing value, as pandas
  EXPECT_EQ(d.row(0), Json::parse(R"({"text": "hello, \"world\"", "n": 1, "x": 1.5, "flag": true, "maybe": 3.0})"));
  EXPECT_EQ(d.row(1)["text"], "two\nlines");
  EXPECT_EQ(d.row(1)["maybe"], nullptr);
  EXPECT_EQ(d.num_rows(), 3);
}

TEST(LoadCsvTest, StringColumnsKeepQuotedEmptiesAndNullMissing) {
  TempDir dir;
  write(dir.file("a.tsv"), "a\tb\nx\t\"\"\ny\n");
  Dataset d = load_one(dir, "a.tsv");
  EXPECT_EQ(d.column("a"), (std::vector<Json>{"x", "y"}));
  EXPECT_EQ(d.column("b"), (std::vector<Json>{"", nullptr}));  // short row filled with null, as pandas
}

TEST(LoadCsvTest, RaggedRowAndUnterminatedQuoteNameFileAndLine) {
  TempDir dir;
  write(dir.file("ragged.csv"), "a,b\n1,2\n3,4,5\n");
  EXPECT_THAT([&] { load_one(dir, "ragged.csv"); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("ragged.csv:3"), HasSubstr("expected 2 fields, saw 3"))));
  write(dir.file("quote.csv"), "a\n1\n\"open\n");
  EXPECT_THAT([&] { load_one(dir, "quote.csv"); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("quote.csv:3"), HasSubstr("unterminated"))));
  write(dir.file("dup.csv"), "a,a\n1,2\n");
  EXPECT_THAT([&] { load_one(dir, "dup.csv"); }, ThrowsMessage<InputError>(HasSubstr("dup.csv:1")));
}

TEST(LoadDatasetTest, ArrowBuilderUsesIpcFilesInPlace) {
  TempDir dir;
  write(dir.file("a.txt"), "x\ny\n");
  Dataset text = load_one(dir, "a.txt");
  LoadOptions o;
  o.data_files = {{"train", {text.cache_files()[0]}}};
  Dataset d = load_dataset(o).at("train");
  EXPECT_EQ(d.cache_files(), text.cache_files());
  EXPECT_EQ(texts(d), (std::vector<Json>{"x", "y"}));
}

// Two processes converting the same files into one cache_dir: the second waits for the first's lock on the cache
// folder, then reuses the file it completed instead of converting again (as datasets' builders wait on FileLock).
// Here the first process is this test: it holds the folder's lock, the load waits in a thread, the test puts a
// complete cache file in place (a copy of one made elsewhere) and lets go.
TEST(LoadDatasetTest, ASecondConversionWaitsForTheFirstAndReusesItsFile) {
  namespace fs = std::filesystem;
  TempDir dir;
  write(dir.file("a.txt"), "one\ntwo\nthree\n");
  LoadOptions o;
  o.data_files = {{"train", {dir.file("a.txt")}}};
  o.cache_dir = dir.file("elsewhere");
  const std::string made = load_dataset(o).at("train").cache_files().at(0);
  // The cache folder's path below cache_dir depends only on the files and options.
  const fs::path relative = fs::relative(fs::path(made).parent_path(), dir.file("elsewhere"));
  const fs::path folder = fs::path(dir.file("shared")) / relative;
  o.cache_dir = dir.file("shared");

  auto inode = [](const fs::path& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 ? st.st_ino : ino_t{0};
  };
  ino_t copied = 0;
  std::atomic<bool> done{false};
  std::vector<std::string> rows;
  std::string error;
  std::thread second;
  {
    DirectoryLock first = DirectoryLock::acquire(folder.string(), "test");
    second = std::thread([&] {
      try {
        for (const auto& t : texts(load_dataset(o).at("train"))) rows.push_back(t.get<std::string>());
      } catch (const std::exception& e) {
        error = e.what();
      }
      done = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_FALSE(done) << "load_dataset did not wait for the folder's lock";
    fs::copy_file(made, folder / fs::path(made).filename());
    copied = inode(folder / fs::path(made).filename());
  }
  second.join();
  EXPECT_EQ(error, "");
  EXPECT_EQ(rows, (std::vector<std::string>{"one", "two", "three"}));
  // Reused, not converted again: the path still names the copy (a conversion writes a new file and renames it over).
  EXPECT_EQ(inode(folder / fs::path(made).filename()), copied);
  // A complete cache takes no lock at all.
  {
    DirectoryLock held = DirectoryLock::acquire(folder.string(), "test");
    EXPECT_EQ(load_dataset(o).at("train").num_rows(), 3);
  }
}

TEST(SelectSplitTest, PercentSlicesRoundHalfToEvenLikeHf) {
  TempDir dir;
  std::string text;
  for (int i = 0; i < 30; ++i) text += std::to_string(i) + "\n";
  write(dir.file("a.txt"), text);
  DatasetDict dd{{"train", load_one(dir, "a.txt")}};
  // 5% of 30 = 1.5 -> 2 (round half to even), so validation = rows [0, 2) and train = [2, 30).
  EXPECT_EQ(texts(select_split(dd, "train[:5%]")), (std::vector<Json>{"0", "1"}));
  EXPECT_EQ(select_split(dd, "train[5%:]").num_rows(), 28);
  // 15% of 30 = 4.5 -> 4.
  EXPECT_EQ(select_split(dd, "train[:15%]").num_rows(), 4);
  EXPECT_EQ(texts(select_split(dd, "train[-2:]")), (std::vector<Json>{"28", "29"}));
  EXPECT_EQ(select_split(dd, "train[10:5]").num_rows(), 0);
  EXPECT_EQ(select_split(dd, "train").num_rows(), 30);
  EXPECT_THAT([&] { select_split(dd, "test[:5%]"); },
              ThrowsMessage<InputError>(AllOf(HasSubstr("test[:5%]"), HasSubstr("available: train"))));
  EXPECT_THAT([&] { select_split(dd, "train[:x%]"); }, ThrowsMessage<InputError>(HasSubstr("train[:x%]")));
  EXPECT_THAT([&] { select_split(dd, "train[:150%]"); }, ThrowsMessage<InputError>(HasSubstr("between -100% and 100%")));
}

}  // namespace
}  // namespace tcpp::datasets
