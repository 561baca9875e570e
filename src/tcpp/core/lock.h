// An exclusive, advisory lock on a folder, so that two processes never write the same output_dir at once.
#pragma once

#include <string>

namespace tcpp {

/// The lock file's name inside the locked folder.
inline constexpr const char* kLockFileName = ".tcpp.lock";

/// Holds flock(LOCK_EX) on <dir>/.tcpp.lock while it lives. The file names the holder (pid, host, start time and
/// command line) so that a second process can say who has the folder; the holder removes it on release. A holder
/// that dies (even by SIGKILL) releases the lock with its file descriptor; its stale file is simply taken over.
class DirectoryLock {
 public:
  /// Lock dir (created when missing) without waiting. Throws InputError("<what>: <dir> is in use by another process
  /// (pid N on HOST since TIME: COMMAND). <advice>") when another process holds it, or when the lock file cannot be
  /// made. The default advice is an output folder's.
  static DirectoryLock acquire(const std::string& dir, const std::string& what, const std::string& advice = "");
  /// Lock dir, waiting while another process holds it (logged once at info level: "<what>: waiting for <dir>, in use
  /// by another process (pid N ...)"), as datasets' builders wait on their FileLock. Throws InputError only when the
  /// lock file cannot be made.
  static DirectoryLock wait_for(const std::string& dir, const std::string& what);

  DirectoryLock(DirectoryLock&& other) noexcept;
  DirectoryLock& operator=(DirectoryLock&& other) noexcept;
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;
  ~DirectoryLock();

  /// The lock file's path. Release unlinks it only while it still names the locked file: a holder whose folder was
  /// renamed away (save_to_disk swaps its staging folder in) never removes a later holder's lock file.
  const std::string& path() const { return path_; }

 private:
  DirectoryLock(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  static DirectoryLock lock(const std::string& dir, const std::string& what, const std::string& advice, bool wait);
  void release() noexcept;
  int fd_ = -1;
  std::string path_;
};

}  // namespace tcpp
