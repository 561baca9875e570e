// File helpers: whole-file reads with clear errors, and crash-safe writes (temp file + fsync + rename).
#pragma once

#include <string>
#include <string_view>

namespace tcpp {

/// Read a whole file into memory; throws InputError naming the path when it cannot be read.
std::string read_file(const std::string& path);

/// Write a file atomically: a temp file in the same folder, fsync, rename over path, fsync the folder.
/// A crash at any moment leaves either the old file or the new one, never a partial file.
void write_file_atomic(const std::string& path, std::string_view content);

/// fsync a directory so that renames inside it are durable.
void fsync_directory(const std::string& dir);

/// path without one trailing compression extension (.gz, .bz2, .xz, .zst, .lz4, any case): "a.jsonl.gz" ->
/// "a.jsonl", so that a data file's format can be told from the extension before it.
std::string without_compression_extension(const std::string& path);

}  // namespace tcpp
