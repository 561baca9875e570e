// A folder's manifest: the size and xxh64 of every file in it, written last before the folder is committed, so a
// later reader can tell a complete folder from a damaged one (bit rot, a truncated copy, a half-synced disk) and
// say which file is wrong. Used for checkpoint-N/ folders.
#pragma once

#include <string>

namespace tcpp {

inline constexpr const char* kManifestFile = "checkpoint_manifest.json";

/// Hash every regular file under dir (recursively; the manifest itself excluded) into dir/<name>.
void write_manifest(const std::string& dir, const std::string& name = kManifestFile);

/// Check dir against dir/<name>: every listed file present with the recorded size and hash. A folder without a
/// manifest (older or written by Python) passes. Throws InputError naming the damaged file and what to do.
void verify_manifest(const std::string& dir, const std::string& name = kManifestFile);

/// xxh64 of a file's bytes as 16 lowercase hex digits (streamed, bounded memory).
std::string file_xxh64(const std::string& path);

}  // namespace tcpp
