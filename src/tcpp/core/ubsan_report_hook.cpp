// Linked into every executable of a TCPP_SANITIZE build (cmake/TcppHelpers.cmake): UBSan calls __ubsan_on_report
// for each report it prints, and gcc's libubsan ignores log_path when it runs beside libasan, so without this hook a
// UBSan report in a child process (a worker rank, run_clm started by a test) reached only that child's stderr. When
// TCPP_UBSAN_REPORT_DIR is set (scripts/asan.sh sets it to the folder of ASan's report files), each report is also
// appended to <dir>/ubsan.<pid>, where the script finds it and fails the run. Nothing here runs in normal builds.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

extern "C" {

// UBSan's interface (compiler-rt's ubsan_monitor, shipped by gcc's libubsan and clang's runtime).
void __ubsan_get_current_report_data(const char** issue_kind, const char** message, const char** filename,
                                     unsigned* line, unsigned* column, char** memory_address);

void __ubsan_on_report() {
  const char* dir = std::getenv("TCPP_UBSAN_REPORT_DIR");
  if (dir == nullptr || *dir == '\0') return;
  const char *kind = nullptr, *message = nullptr, *file = nullptr;
  unsigned line = 0, column = 0;
  char* address = nullptr;
  __ubsan_get_current_report_data(&kind, &message, &file, &line, &column, &address);
  char path[4096];
  std::snprintf(path, sizeof path, "%s/ubsan.%d", dir, static_cast<int>(::getpid()));
  if (std::FILE* f = std::fopen(path, "a")) {
    std::fprintf(f, "%s:%u:%u: runtime error (%s): %s\n", file ? file : "<unknown>", line, column, kind ? kind : "?",
                 message ? message : "?");
    std::fclose(f);
  }
}

}  // extern "C"
