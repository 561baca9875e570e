// Regex over PCRE2 with a per-thread JIT stack (long whitespace runs need more than PCRE2's 32 KiB default).
#define PCRE2_CODE_UNIT_WIDTH 8
#include "tcpp/tokenizers/regex.h"

#include <pcre2.h>

#include "tcpp/core/error.h"
#include "tcpp/core/strings.h"
#include "tcpp/tokenizers/json_internal.h"
#include "tcpp/tokenizers/unicode.h"

namespace tcpp::tokenizers {

#define TCPP_WS "\\t\\n\\x{0B}\\f\\r \\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}"
const char* const kGpt2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" TCPP_WS "\\p{L}\\p{N}]+|[" TCPP_WS "]+(?![^" TCPP_WS
    "])|[" TCPP_WS "]+";
#undef TCPP_WS

struct Regex::Impl {
  pcre2_code* code = nullptr;
  bool jit = false;
  ~Impl() {
    if (code) pcre2_code_free(code);
  }
};

namespace {

// Per-thread match context with a JIT stack that may grow to 64 MiB.
struct ThreadMatchState {
  pcre2_match_context* context = nullptr;
  pcre2_jit_stack* stack = nullptr;
  ThreadMatchState() {
    context = pcre2_match_context_create(nullptr);
    stack = pcre2_jit_stack_create(64 * 1024, 64 * 1024 * 1024, nullptr);
    pcre2_jit_stack_assign(context, nullptr, stack);
  }
  ~ThreadMatchState() {
    pcre2_jit_stack_free(stack);
    pcre2_match_context_free(context);
  }
};

ThreadMatchState& thread_state() {
  thread_local ThreadMatchState state;
  return state;
}

}  // namespace

Regex::Regex(Regex&&) noexcept = default;
Regex& Regex::operator=(Regex&&) noexcept = default;
Regex::~Regex() = default;

Regex Regex::compile(const std::string& pattern, const std::string& where) {
  int err = 0;
  PCRE2_SIZE err_off = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK, &err, &err_off, nullptr);
  if (!code) {
    PCRE2_UCHAR buf[256];
    pcre2_get_error_message(err, buf, sizeof buf);
    throw InputError(where, "invalid regex " + quote(pattern) + " at offset " + std::to_string(err_off) + ": " +
                                reinterpret_cast<const char*>(buf));
  }
  Regex re;
  re.pattern_ = pattern;
  re.impl_ = std::make_unique<Impl>();
  re.impl_->code = code;
  re.impl_->jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
  return re;
}

Matches Regex::find_matches(const std::string& s) const {
  if (s.empty()) return {{{0, 0}, false}};
  Matches out;
  auto& state = thread_state();
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(impl_->code, nullptr);
  std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> hold(md, &pcre2_match_data_free);
  auto subject = reinterpret_cast<PCRE2_SPTR>(s.data());
  size_t prev = 0, start = 0;
  while (start <= s.size()) {
    int rc = impl_->jit ? pcre2_jit_match(impl_->code, subject, s.size(), start, PCRE2_NO_UTF_CHECK, md, state.context)
                        : pcre2_match(impl_->code, subject, s.size(), start, PCRE2_NO_UTF_CHECK, md, state.context);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      PCRE2_UCHAR buf[256];
      pcre2_get_error_message(rc, buf, sizeof buf);
      throw Error("regex " + quote(pattern_) + " failed: " + reinterpret_cast<const char*>(buf));
    }
    PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    size_t ms = ov[0], me = ov[1];
    if (prev != ms) out.push_back({{prev, ms}, false});
    out.push_back({{ms, me}, true});
    prev = me;
    start = me;
    if (ms == me) {  // as Oniguruma's iterator: after an empty match, search again one char further
      if (me >= s.size()) break;
      start += unicode::utf8_len(static_cast<unsigned char>(s[me]));
    }
  }
  if (prev != s.size()) out.push_back({{prev, s.size()}, false});
  return out;
}

Pattern Pattern::from_json(const Json& j, const detail::JsonPath& at) {
  Pattern p;
  if (j.is_object() && j.contains("String")) {
    p.literal_ = detail::as_string(j["String"], at.key("String"));
  } else if (j.is_object() && j.contains("Regex")) {
    p.regex_ = std::make_shared<Regex>(Regex::compile(detail::as_string(j["Regex"], at.key("Regex")), at.key("Regex").str()));
  } else {
    detail::throw_type(at, "{\"String\": ...} or {\"Regex\": ...}", j);
  }
  return p;
}

Pattern Pattern::literal(std::string s) {
  Pattern p;
  p.literal_ = std::move(s);
  return p;
}

Json Pattern::to_json() const { return regex_ ? Json{{"Regex", regex_->pattern()}} : Json{{"String", literal_}}; }

}  // namespace tcpp::tokenizers
