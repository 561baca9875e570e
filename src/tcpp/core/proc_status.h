// Memory figures of this process as Linux reports them, for tests and benchmarks that bound RSS.
#pragma once

#include <cstdint>
#include <string>

namespace tcpp {

/// A field of /proc/self/status in kB ("VmRSS", "VmHWM", "RssAnon", "RssFile", ...), or -1 when the file or the
/// field is missing (not Linux, or an older kernel).
int64_t proc_status_kb(const std::string& field);

}  // namespace tcpp
