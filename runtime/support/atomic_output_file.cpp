#include "runtime/support/atomic_output_file.h"

#include "runtime/support/error.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace greta {
namespace {

// Linux transfers at most 0x7ffff000 bytes per write(); larger requests just return short.
constexpr size_t kMaxWriteChunk = size_t{1} << 30;

std::string directoryOf(const std::string &path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos)
    return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

} // namespace

AtomicOutputFile::AtomicOutputFile(std::string path)
    : path_(std::move(path)), tempPath_(fmt::format("{}.tmp-{}", path_, ::getpid())),
      hardExitCleanup_(tempPath_, RemoveOnHardExit::Kind::File) {
  fd_ = ::open(tempPath_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0)
    fail("{}: cannot create temporary file {}: {}", path_, tempPath_, std::strerror(errno));
}

AtomicOutputFile::~AtomicOutputFile() {
  if (committed_)
    return;
  closeQuietly();
  ::unlink(tempPath_.c_str());
}

void AtomicOutputFile::closeQuietly() {
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = -1;
}

void AtomicOutputFile::write(std::span<const uint8_t> bytes) {
  while (!bytes.empty()) {
    size_t chunk = std::min(bytes.size(), kMaxWriteChunk);
    ssize_t n = ::write(fd_, bytes.data(), chunk);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      fail("{}: write of {} bytes at offset {} failed: {}", tempPath_, chunk, written_,
           std::strerror(errno));
    }
    bytes = bytes.subspan(static_cast<size_t>(n));
    written_ += static_cast<uint64_t>(n);
  }
}

void AtomicOutputFile::writeZeros(uint64_t count) {
  static constexpr std::array<uint8_t, 4096> kZeros{};
  while (count > 0) {
    size_t chunk = static_cast<size_t>(std::min<uint64_t>(count, kZeros.size()));
    write(std::span<const uint8_t>(kZeros.data(), chunk));
    count -= chunk;
  }
}

void AtomicOutputFile::commit() {
  if (::fsync(fd_) != 0)
    fail("{}: fsync failed: {}", tempPath_, std::strerror(errno));
  int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0)
    fail("{}: close failed: {}", tempPath_, std::strerror(errno));
  if (::rename(tempPath_.c_str(), path_.c_str()) != 0)
    fail("{}: cannot rename {} into place: {}", path_, tempPath_, std::strerror(errno));
  committed_ = true;
  hardExitCleanup_.release(); // after the rename: a signal in between finds no temporary
  // Make the rename itself durable; failing to sync the directory loses nothing already written,
  // so it is best effort.
  int dir = ::open(directoryOf(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

} // namespace greta
