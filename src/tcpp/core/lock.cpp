// DirectoryLock: flock on <dir>/.tcpp.lock. The holder unlinks the file before it closes it; a process that opened
// the old file and then got the lock finds that the path no longer names its file (inode check) and starts again,
// so two processes can never both believe they hold the lock.
#include "tcpp/core/lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tcpp/core/error.h"
#include "tcpp/core/logging.h"
#include "tcpp/core/strings.h"

namespace tcpp {
namespace fs = std::filesystem;

namespace {

std::string holder_description() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) std::strcpy(host, "?");
  std::time_t now = std::time(nullptr);
  char when[64] = {};
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&now));
  std::string cmd;
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (char c : raw) cmd += c == '\0' ? ' ' : c;
  cmd = trim(cmd);
  if (cmd.size() > 300) cmd = cmd.substr(0, 300) + " ...";
  return "pid " + std::to_string(::getpid()) + " on " + host + " since " + when + ": " + cmd + "\n";
}

// What the holder wrote, or "" (it may not have written it yet: the lock comes before the write).
std::string read_holder(const std::string& path) {
  for (int i = 0; i < 20; ++i) {
    std::ifstream in(path);
    std::string line;
    if (in && std::getline(in, line) && !trim(line).empty()) return trim(line);
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return "";
}

}  // namespace

DirectoryLock DirectoryLock::acquire(const std::string& dir, const std::string& what, const std::string& advice) {
  return lock(dir, what, advice, /*wait=*/false);
}

DirectoryLock DirectoryLock::wait_for(const std::string& dir, const std::string& what) {
  return lock(dir, what, "", /*wait=*/true);
}

DirectoryLock DirectoryLock::lock(const std::string& dir, const std::string& what, const std::string& advice, bool wait) {
  bool told = false;  // "waiting for" logged
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw InputError(what, "cannot create " + dir + ": " + ec.message());
  const std::string path = (fs::path(dir) / kLockFileName).string();
  for (int attempt = 0; attempt < 100; ++attempt) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) throw InputError(what, "cannot create the lock file " + path + ": " + std::strerror(errno));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      if (err != EWOULDBLOCK) {
        ::close(fd);
        if (err == EINTR) continue;
        throw InputError(what, "cannot lock " + path + ": " + std::strerror(err));
      }
      const std::string holder = read_holder(path);
      const std::string who = holder.empty() ? "pid unknown" : holder;
      if (!wait) {
        ::close(fd);
        throw InputError(what, dir + " is in use by another process (" + who + "). " +
                                   (advice.empty() ? "Two runs writing one output folder would mix their checkpoints: "
                                                     "wait for it to finish, or pass another --output_dir"
                                                   : advice));
      }
      if (!told) log_info(what + ": waiting for " + dir + ", in use by another process (" + who + ")");
      told = true;
      while (::flock(fd, LOCK_EX) != 0) {
        if (errno == EINTR) continue;
        const int e = errno;
        ::close(fd);
        throw InputError(what, "cannot lock " + path + ": " + std::strerror(e));
      }
      // The holder unlinked its file as it let go: the check below sends us round again, to a lock no one holds.
    }
    struct stat held {}, named {};
    if (::fstat(fd, &held) != 0 || ::stat(path.c_str(), &named) != 0 || held.st_ino != named.st_ino ||
        held.st_dev != named.st_dev) {
      ::close(fd);  // the previous holder removed the file between our open and our lock: start again
      continue;
    }
    const std::string info = holder_description();
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, info.data(), info.size(), 0) != static_cast<ssize_t>(info.size())) {
      const int err = errno;
      ::unlink(path.c_str());
      ::close(fd);
      throw InputError(what, "cannot write the lock file " + path + ": " + std::strerror(err));
    }
    return DirectoryLock(fd, path);
  }
  throw InputError(what, "cannot lock " + path + ": it kept being replaced by other processes");
}

DirectoryLock::DirectoryLock(DirectoryLock&& other) noexcept : fd_(other.fd_), path_(std::move(other.path_)) {
  other.fd_ = -1;
}

DirectoryLock& DirectoryLock::operator=(DirectoryLock&& other) noexcept {
  if (this != &other) {
    release();
    fd_ = other.fd_;
    path_ = std::move(other.path_);
    other.fd_ = -1;
  }
  return *this;
}

DirectoryLock::~DirectoryLock() { release(); }

void DirectoryLock::release() noexcept {
  if (fd_ < 0) return;
  // While still locked (see the comment at the top), and only while the path still names the locked file: no one
  // else unlinks a file that is locked, so a match cannot change before the unlink.
  struct stat held {}, named {};
  if (::fstat(fd_, &held) == 0 && ::stat(path_.c_str(), &named) == 0 && held.st_ino == named.st_ino &&
      held.st_dev == named.st_dev)
    ::unlink(path_.c_str());
  ::close(fd_);
  fd_ = -1;
}

}  // namespace tcpp
