// datasets 3.x's data_files.py (split patterns, resolve_pattern's filters) and load.py's module inference, for
// local folders.
#include "tcpp/datasets/data_files.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <tuple>

#include "tcpp/core/error.h"
#include "tcpp/core/strings.h"

namespace tcpp::datasets {
namespace fs = std::filesystem;
namespace {

// SPLIT_KEYWORDS and the fsspec >= 2023.12 base patterns (NON_WORDS_CHARS = "-._ 0-9").
const std::vector<std::pair<std::string, std::vector<std::string>>> kSplitKeywords = {
    {"train", {"train", "training"}},
    {"validation", {"validation", "valid", "dev", "val"}},
    {"test", {"test", "testing", "eval", "evaluation"}},
};
const char* const kSep = "[-._ 0-9]";
const std::vector<std::string> kFilenamePatterns = {"**/{keyword}{sep}*", "**/*{sep}{keyword}{sep}*"};
const std::vector<std::string> kDirNamePatterns = {"**/{keyword}/**", "**/{keyword}{sep}*/**", "**/*{sep}{keyword}/**",
                                                   "**/*{sep}{keyword}{sep}*/**"};
const std::string kShardedPattern = "data/*-[0-9][0-9][0-9][0-9][0-9]-of-[0-9][0-9][0-9][0-9][0-9]*.*";
const std::set<std::string> kFilesToIgnore = {"README.md",         "config.json",     "dataset_info.json",
                                              "dataset_infos.json", "dummy_data.zip", "dataset_dict.json"};
const std::set<std::string> kMetadataFilenames = {"metadata.csv", "metadata.jsonl", "metadata.parquet"};

// _EXTENSION_TO_MODULE (packaged_modules/__init__.py): data extensions, then the folder builders' (images, audio,
// video, pdf; a later one wins, so .mpeg is video), upper-case variants for those.
const std::map<std::string, std::pair<std::string, Json>>& extension_to_module() {
  static const auto table = [] {
    std::map<std::string, std::pair<std::string, Json>> t = {
        {".csv", {"csv", Json::object()}},       {".tsv", {"csv", {{"sep", "\t"}}}},
        {".json", {"json", Json::object()}},     {".jsonl", {"json", Json::object()}},
        {".ndjson", {"json", Json::object()}},   {".parquet", {"parquet", Json::object()}},
        {".geoparquet", {"parquet", Json::object()}}, {".gpq", {"parquet", Json::object()}},
        {".arrow", {"arrow", Json::object()}},   {".txt", {"text", Json::object()}},
        {".tar", {"webdataset", Json::object()}}, {".xml", {"xml", Json::object()}}};
    const std::vector<std::pair<std::string, std::vector<std::string>>> folders = {
        {"imagefolder", {".blp", ".bmp", ".dib", ".bufr", ".cur", ".pcx", ".dcx", ".dds", ".ps", ".eps", ".fit",
                         ".fits", ".fli", ".flc", ".ftc", ".ftu", ".gbr", ".gif", ".grib", ".png", ".apng", ".jp2",
                         ".j2k", ".jpc", ".jpf", ".jpx", ".j2c", ".icns", ".ico", ".im", ".iim", ".tif", ".tiff",
                         ".jfif", ".jpe", ".jpg", ".jpeg", ".mpg", ".mpeg", ".msp", ".pcd", ".pxr", ".pbm", ".pgm",
                         ".ppm", ".pnm", ".psd", ".bw", ".rgb", ".rgba", ".sgi", ".ras", ".tga", ".icb", ".vda",
                         ".vst", ".webp", ".wmf", ".emf", ".xbm", ".xpm"}},
        {"audiofolder", {".aiff", ".au", ".avr", ".caf", ".flac", ".htk", ".svx", ".mat4", ".mat5", ".mpc2k", ".ogg",
                         ".paf", ".pvf", ".raw", ".rf64", ".sd2", ".sds", ".ircam", ".voc", ".w64", ".wav", ".nist",
                         ".wavex", ".wve", ".xi", ".mp3", ".opus"}},
        {"videofolder", {".mkv", ".mp4", ".avi", ".mpeg", ".mov"}},
        {"pdffolder", {".pdf"}}};
    for (const auto& [module, exts] : folders)
      for (const auto& e : exts) {
        std::string upper = e;
        for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        t[e] = {module, Json::object()};
        t[upper] = {module, Json::object()};
      }
    return t;
  }();
  return table;
}

bool is_allowed_extension(const std::string& ext) { return ext == ".zip" || extension_to_module().count(ext) != 0; }

std::string basename(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Every suffix of a file name: "a.tar.gz" -> .tar, .gz (datasets counts them all).
std::vector<std::string> suffixes(const std::string& name) {
  std::vector<std::string> parts = split(name, '.');
  std::vector<std::string> out;
  for (size_t i = 1; i < parts.size(); ++i) out.push_back("." + parts[i]);
  return out;
}

bool has_magic(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }

// An fsspec glob as tokens: '*' any run within a folder, '?' one character but '/', "[...]" a class ('!'
// negates, a leading ']' is literal, "a-z" a range), "**/" at a part's start any folders (none included), a
// final "**" anything. Matched by a sweep over the path that carries the set of positions reached: time
// pattern × path, where std::regex backtracked exponentially ("data/*?*?*?...x" ran for minutes) and recursed
// once per character.
class Glob {
 public:
  explicit Glob(const std::string& pattern) {
    for (size_t i = 0; i < pattern.size();) {
      const bool part_start = i == 0 || pattern[i - 1] == '/';
      Token t;
      if (part_start && pattern.compare(i, 3, "**/") == 0) {
        t.kind = Kind::kAnyFolders;
        i += 3;
      } else if (part_start && pattern.compare(i, 2, "**") == 0 && i + 2 == pattern.size()) {
        t.kind = Kind::kAnything;
        i += 2;
      } else if (pattern[i] == '*') {
        t.kind = Kind::kStar;
        while (i < pattern.size() && pattern[i] == '*') ++i;
      } else if (pattern[i] == '?') {
        t.kind = Kind::kAnyChar;
        ++i;
      } else if (const size_t close = pattern[i] == '[' ? class_end(pattern, i) : std::string::npos;
                 close != std::string::npos) {
        size_t k = i + 1;
        t.kind = Kind::kClass;
        if (pattern[k] == '!') {
          t.negated = true;
          ++k;
        }
        for (; k < close; ++k) {
          const auto lo = static_cast<unsigned char>(pattern[k]);
          if (k + 2 < close && pattern[k + 1] == '-') {
            t.ranges.emplace_back(lo, static_cast<unsigned char>(pattern[k + 2]));  // "z-a" matches nothing
            k += 2;
          } else {
            t.ranges.emplace_back(lo, lo);
          }
        }
        i = close + 1;
      } else {
        t.kind = Kind::kLiteral;
        t.c = pattern[i++];
      }
      tokens_.push_back(std::move(t));
    }
  }

  bool matches(const std::string& path) const {
    const size_t n = path.size();
    // at[i]: the tokens so far can match path[0, i); only [lo, hi] can be set, and only that range is visited
    // (a literal moves one position, so a long literal pattern costs its length, not length × path).
    std::vector<char> at(n + 1, 0), next(n + 1, 0);
    at[0] = 1;
    size_t lo = 0, hi = 0;
    for (const Token& t : tokens_) {
      size_t new_lo = n + 1, new_hi = 0;
      const auto set = [&](size_t i) {
        next[i] = 1;
        new_lo = std::min(new_lo, i);
        new_hi = std::max(new_hi, i);
      };
      switch (t.kind) {
        case Kind::kLiteral:
        case Kind::kAnyChar:
        case Kind::kClass:
          for (size_t i = lo; i <= hi && i < n; ++i)
            if (at[i] && (t.kind == Kind::kLiteral   ? path[i] == t.c
                          : t.kind == Kind::kAnyChar ? path[i] != '/'
                                                     : in_class(t, path[i])))
              set(i + 1);
          break;
        case Kind::kStar: {  // [^/]*: from a reached position up to the next '/'
          bool reached = false;
          for (size_t i = lo; i <= n && (reached || i <= hi); ++i) {
            reached = reached || at[i];
            if (reached) set(i);
            if (i < n && path[i] == '/') reached = false;
          }
          break;
        }
        case Kind::kAnyFolders:  // (?:.*/)?: stay, or end just after any later '/'
          for (size_t i = lo; i <= n; ++i) {
            if (at[i]) set(i);
            if (i < n && path[i] == '/') set(i + 1);
          }
          break;
        case Kind::kAnything:
          for (size_t i = lo; i <= n; ++i) set(i);
          break;
      }
      std::fill(at.begin() + static_cast<std::ptrdiff_t>(lo),
                at.begin() + static_cast<std::ptrdiff_t>(hi) + 1, 0);
      at.swap(next);
      if (new_lo > new_hi) return false;  // nothing reached
      lo = new_lo;
      hi = new_hi;
    }
    return at[n] != 0;
  }

 private:
  enum class Kind { kLiteral, kAnyChar, kClass, kStar, kAnyFolders, kAnything };
  struct Token {
    Kind kind = Kind::kLiteral;
    char c = 0;
    bool negated = false;
    std::vector<std::pair<unsigned char, unsigned char>> ranges;
  };

  // The ']' that closes the class opened at pattern[open], or npos (then '[' is a literal).
  static size_t class_end(const std::string& pattern, size_t open) {
    size_t j = open + 1;
    if (j < pattern.size() && pattern[j] == '!') ++j;
    if (j < pattern.size() && pattern[j] == ']') ++j;
    return pattern.find(']', j);
  }
  static bool in_class(const Token& t, char c) {
    const auto u = static_cast<unsigned char>(c);
    bool in = false;
    for (const auto& [lo, hi] : t.ranges) in = in || (lo <= u && u <= hi);
    return in != t.negated;
  }

  std::vector<Token> tokens_;
};

// The parts of a relative path.
std::vector<std::string> parts_of(const std::string& path) {
  std::vector<std::string> out;
  for (const auto& p : split(path, '/'))
    if (!p.empty() && p != ".") out.push_back(p);
  return out;
}

size_t count_hidden(const std::vector<std::string>& parts) {
  return static_cast<size_t>(std::count_if(parts.begin(), parts.end(), [](const std::string& p) {
    return p[0] == '.' && p.find_first_not_of('.') != std::string::npos;
  }));
}

size_t count_special_parents(const std::vector<std::string>& parts) {
  size_t n = 0;
  for (size_t i = 0; i + 1 < parts.size(); ++i) n += starts_with(parts[i], "__");
  return n;
}

// Regular files under root (file symlinks followed, folder symlinks not), as sorted paths relative to root.
std::vector<std::string> list_files(const fs::path& root) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return out;
  for (fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec), end;
       !ec && it != end; it.increment(ec))
    if (it->is_regular_file(ec)) out.push_back(it->path().lexically_relative(root).generic_string());
  std::sort(out.begin(), out.end());
  return out;
}

// The folders walked while resolving one set of patterns (the default patterns alone are dozens, each of which
// would walk the whole folder again).
class FileListing {
 public:
  const std::vector<std::string>& files_under(const fs::path& root) {
    auto it = walked_.find(root.string());
    if (it == walked_.end()) it = walked_.emplace(root.string(), list_files(root)).first;
    return it->second;
  }

 private:
  std::map<std::string, std::vector<std::string>> walked_;
};

// resolve_pattern: the files under base matching pattern (relative, or absolute), sorted, filtered as datasets
// filters them: ignored names, unrequested hidden and "__" parts, and (with allowed_extensions) no data extension.
std::vector<std::string> resolve_pattern(const fs::path& base, const std::string& pattern, bool allowed_extensions,
                                         FileListing& listing) {
  const bool absolute = !pattern.empty() && pattern[0] == '/';
  const std::vector<std::string> pattern_parts = parts_of(pattern);
  // Walk from the pattern's literal leading folders only.
  fs::path root = absolute ? fs::path("/") : base;
  size_t literal = 0;
  while (literal + 1 < pattern_parts.size() && !has_magic(pattern_parts[literal])) root /= pattern_parts[literal++];
  std::vector<std::string> rest(pattern_parts.begin() + static_cast<std::ptrdiff_t>(literal), pattern_parts.end());
  const std::string rest_pattern = join(rest, "/");
  std::vector<std::string> candidates;
  std::error_code ec;
  if (!has_magic(rest_pattern)) {
    if (fs::is_regular_file(root / rest_pattern, ec)) candidates.push_back(rest_pattern);
  } else {
    const Glob glob(rest_pattern);
    for (const auto& f : listing.files_under(root))
      if (glob.matches(f)) candidates.push_back(f);
  }
  const std::string pattern_base = pattern_parts.empty() ? "" : pattern_parts.back();
  std::vector<std::string> out;
  for (const auto& rel : candidates) {
    std::vector<std::string> full = std::vector<std::string>(
        pattern_parts.begin(), pattern_parts.begin() + static_cast<std::ptrdiff_t>(literal));
    for (const auto& p : parts_of(rel)) full.push_back(p);
    const std::string name = full.back();
    if (kFilesToIgnore.count(name) && name != pattern_base) continue;
    if (count_hidden(full) != count_hidden(pattern_parts)) continue;
    if (count_special_parents(full) != count_special_parents(pattern_parts)) continue;
    if (allowed_extensions) {
      const auto sx = suffixes(name);
      if (!std::any_of(sx.begin(), sx.end(), is_allowed_extension)) continue;
    }
    out.push_back((root / rel).lexically_normal().string());
  }
  return out;
}

std::string expand(const std::string& pattern, const std::string& keyword) {
  std::string out;
  for (size_t i = 0; i < pattern.size();) {
    if (pattern.compare(i, 9, "{keyword}") == 0) {
      out += keyword;
      i += 9;
    } else if (pattern.compare(i, 5, "{sep}") == 0) {
      out += kSep;
      i += 5;
    } else {
      out += pattern[i++];
    }
  }
  return out;
}

// The patterns of each default split under one of the base pattern lists.
std::vector<std::pair<std::string, std::vector<std::string>>> default_patterns(const std::vector<std::string>& bases) {
  std::vector<std::pair<std::string, std::vector<std::string>>> out;
  for (const auto& [split, keywords] : kSplitKeywords) {
    std::vector<std::string> patterns;
    for (const auto& k : keywords)
      for (const auto& b : bases) patterns.push_back(expand(b, k));
    out.emplace_back(split, patterns);
  }
  return out;
}

// DataFilesList.from_patterns: the matches of every pattern in turn (datasets keeps a file two patterns match twice).
std::vector<std::string> resolve_patterns(const fs::path& base, const std::vector<std::string>& patterns,
                                          const std::string& where, FileListing& listing) {
  std::vector<std::string> out;
  for (const auto& p : patterns) {
    auto files = resolve_pattern(base, p, /*allowed_extensions=*/true, listing);
    if (files.empty() && !has_magic(p))
      throw InputError(where, "data file " + quote(p) + " not found under " + base.string() +
                                  " (or not a file with a data extension)");
    out.insert(out.end(), files.begin(), files.end());
  }
  return out;
}

std::vector<std::string> string_list(const Json& v) {
  std::vector<std::string> out;
  if (v.is_string()) out.push_back(v.get<std::string>());
  if (v.is_array())
    for (const auto& e : v)
      if (e.is_string()) out.push_back(e.get<std::string>());
  return out;
}

}  // namespace

bool is_split_name(const std::string& name) {
  for (const auto& part : split(name, '.')) {
    if (part.empty()) return false;
    for (char c : part)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  return true;
}

bool glob_match(const std::string& pattern, const std::string& path) {
  return Glob(pattern).matches(path);
}

DataFiles get_data_files(const std::string& base_dir) {
  const fs::path base(base_dir);
  std::vector<std::pair<std::string, std::vector<std::string>>> patterns;
  // data/{split}-00000-of-00001.parquet shards first; the split is the name before -NNNNN-of-.
  FileListing listing;
  const auto shards = resolve_pattern(base, kShardedPattern, /*allowed_extensions=*/false, listing);
  if (!shards.empty()) {
    static const std::regex split_of(R"(^(.+)-[0-9]{5}-of-[0-9]{5}[0-9]*.*$)");
    std::set<std::string> splits;
    for (const auto& f : shards) {
      std::smatch m;
      const std::string name = basename(f);
      if (std::regex_match(name, m, split_of)) splits.insert(m[1].str());
    }
    for (const auto& s : splits)
      if (!is_split_name(s))
        throw InputError(base_dir, "data/" + s + "-NNNNN-of-NNNNN files: split name " + quote(s) +
                                       " must match ^\\w+(\\.\\w+)*$");
    std::vector<std::string> order;
    for (const auto& [split, keywords] : kSplitKeywords)
      if (splits.erase(split)) order.push_back(split);
    order.insert(order.end(), splits.begin(), splits.end());
    for (const auto& s : order)
      patterns.push_back({s, {"data/" + s + "-[0-9][0-9][0-9][0-9][0-9]-of-[0-9][0-9][0-9][0-9][0-9]*.*"}});
  } else {
    // Split names in folder names, then in file names, then everything as train: the first that finds a file.
    for (const auto& rule : {default_patterns(kDirNamePatterns), default_patterns(kFilenamePatterns),
                             std::vector<std::pair<std::string, std::vector<std::string>>>{{"train", {"**"}}}}) {
      for (const auto& [split, ps] : rule)
        if (std::any_of(ps.begin(), ps.end(), [&](const std::string& p) {
              return !resolve_pattern(base, p, /*allowed_extensions=*/false, listing).empty();
            }))
          patterns.push_back({split, ps});
      if (!patterns.empty()) break;
    }
  }
  if (patterns.empty()) throw InputError(base_dir, "the folder holds no data files");
  DataFiles out;
  for (const auto& [split, ps] : patterns) out.emplace_back(split, resolve_patterns(base, ps, base_dir, listing));
  return out;
}

DataFiles resolve_data_file_patterns(const std::string& base_dir, const Json& data_files, const std::string& where) {
  // sanitize_patterns: a pattern or a list of them is the train split; {split, path} entries name theirs.
  std::vector<std::pair<std::string, std::vector<std::string>>> patterns;
  if (data_files.is_string() || (data_files.is_array() && std::all_of(data_files.begin(), data_files.end(),
                                                                      [](const Json& e) { return e.is_string(); }))) {
    patterns.push_back({"train", string_list(data_files)});
  } else if (data_files.is_array()) {
    for (const auto& e : data_files) {
      if (!e.is_object() || !e.contains("split") || !e.contains("path"))
        throw InputError(where, "data_files entries must all be patterns or all be {split, path}, got " + e.dump());
      const std::string split = e["split"].is_string() ? e["split"].get<std::string>() : e["split"].dump();
      auto it = std::find_if(patterns.begin(), patterns.end(), [&](const auto& p) { return p.first == split; });
      if (it == patterns.end()) it = patterns.insert(patterns.end(), {split, {}});
      for (const auto& p : string_list(e["path"])) it->second.push_back(p);
    }
  } else if (data_files.is_object()) {
    for (const auto& [split, v] : data_files.items()) patterns.push_back({split, string_list(v)});
  } else {
    throw InputError(where, "data_files must be a pattern, a list of patterns or a list of {split, path}, got " +
                                data_files.dump());
  }
  DataFiles out;
  FileListing listing;
  for (const auto& [split, ps] : patterns) {
    auto files = resolve_patterns(fs::path(base_dir), ps, where, listing);
    if (files.empty())
      throw InputError(where, "split " + quote(split) + ": no data file under " + base_dir + " matches " +
                                  join(ps, ", "));
    out.emplace_back(split, std::move(files));
  }
  return out;
}

InferredModule infer_module_for_data_files(const DataFiles& files, const std::string& where) {
  InferredModule result;
  std::optional<std::pair<std::string, Json>> first;
  for (const auto& [split, list] : files) {
    // infer_module_for_data_files_list: count every suffix (lower-cased) of the first 200 files; the highest
    // count wins, metadata files last, ties to .parquet, .jsonl, .json, .csv, then the greater extension.
    std::map<std::pair<std::string, bool>, int> counts;
    for (size_t i = 0; i < list.size() && i < 200; ++i) {
      const std::string name = basename(list[i]);
      for (const auto& s : suffixes(name)) ++counts[{to_lower(s), kMetadataFilenames.count(name) != 0}];
    }
    std::vector<std::tuple<bool, int, bool, bool, bool, bool, std::string>> keys;
    for (const auto& [k, n] : counts)
      keys.emplace_back(!k.second, n, k.first == ".parquet", k.first == ".jsonl", k.first == ".json",
                        k.first == ".csv", k.first);
    std::sort(keys.rbegin(), keys.rend());
    std::optional<std::pair<std::string, Json>> module;
    for (const auto& k : keys) {
      const auto it = extension_to_module().find(std::get<6>(k));
      if (it != extension_to_module().end()) {
        module = it->second;
        break;
      }
      if (std::get<6>(k) == ".zip")
        throw InputError(where, "split " + quote(split) + ": zip archives are not read here; extract them first");
    }
    if (!module)
      throw InputError(where, "split " + quote(split) + ": cannot tell the data format of " +
                                  (list.empty() ? std::string("(no files)") : basename(list.front())) +
                                  " from its extension");
    if (first && (first->first != module->first || first->second != module->second))
      throw InputError(where, "the splits' files have different formats (" + first->first + " and " + module->first +
                                  " for split " + quote(split) + "); datasets needs one format for all splits");
    first = module;
  }
  if (!first) throw InputError(where, "no data files");
  result.builder = first->first;
  result.default_kwargs = first->second;
  // data_files.filter(extensions=_MODULE_TO_EXTENSIONS[module]): names holding one of the module's extensions
  // (or .zip), possibly followed by further suffixes (".csv.gz").
  std::vector<std::string> exts = {".zip"};
  for (const auto& [ext, m] : extension_to_module())
    if (m.first == result.builder) exts.push_back(ext);
  for (const auto& [split, list] : files) {
    std::vector<std::string> kept;
    for (const auto& f : list) {
      const std::string name = basename(f);
      if (std::any_of(exts.begin(), exts.end(), [&](const std::string& e) {
            const auto at = name.find(e);
            return at != std::string::npos && (at + e.size() == name.size() || name[at + e.size()] == '.');
          }))
        kept.push_back(f);
    }
    result.files.emplace_back(split, std::move(kept));
  }
  return result;
}

}  // namespace tcpp::datasets
