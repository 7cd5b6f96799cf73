//===- atomic_output_file.h - Write a file under a temporary name, then rename -===//
//
// Outputs that other programs load (GGUF files, bundles) must never be seen half written: the
// data goes to "<path>.tmp-<pid>", is fsync'd, and only then renamed over `path`. If the object
// is destroyed before commit() — an exception while producing the data — the temporary file is
// removed and `path` is untouched. The temporary is also removed when a second Ctrl-C or SIGTERM
// ends the process (runtime/support/interrupt.h).
//
// Thread-safety: not thread-safe; one writer per object.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/support/interrupt.h"

#include <cstdint>
#include <span>
#include <string>

namespace greta {

class AtomicOutputFile {
public:
  /// Creates the temporary file beside `path`. Throws greta::Error naming it and the OS error.
  explicit AtomicOutputFile(std::string path);
  AtomicOutputFile(const AtomicOutputFile &) = delete;
  AtomicOutputFile &operator=(const AtomicOutputFile &) = delete;
  /// Removes the temporary file unless commit() succeeded.
  ~AtomicOutputFile();

  /// Appends all of `bytes` (retrying short writes). Throws greta::Error on failure.
  void write(std::span<const uint8_t> bytes);
  /// Appends `count` zero bytes.
  void writeZeros(uint64_t count);
  uint64_t bytesWritten() const { return written_; }
  const std::string &temporaryPath() const { return tempPath_; }

  /// Flushes to disk, closes and renames onto the final path. Throws greta::Error on failure
  /// (and the destructor then removes the temporary file).
  void commit();

private:
  void closeQuietly();

  std::string path_;
  std::string tempPath_;
  RemoveOnHardExit hardExitCleanup_;
  int fd_ = -1;
  uint64_t written_ = 0;
  bool committed_ = false;
};

} // namespace greta
