// /proc/self/status fields.
#include "tcpp/core/proc_status.h"

#include <cstdlib>
#include <fstream>

namespace tcpp {

int64_t proc_status_kb(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + ":", 0) == 0) return std::atoll(line.c_str() + field.size() + 1);
  return -1;
}

}  // namespace tcpp
