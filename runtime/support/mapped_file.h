//===- mapped_file.h - Read-only memory map of a whole file ----------------===//
//
// GGUF files are mmapped, never read into memory: an 8B model is 4.9 GB. The mapping is private
// and read-only. Movable, not copyable; not thread-safe to move while others read through it.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace greta {

class MappedFile {
public:
  /// Maps `path` read-only. Throws greta::Error naming the path and the OS error.
  explicit MappedFile(std::string path);
  MappedFile(MappedFile &&other) noexcept;
  MappedFile &operator=(MappedFile &&other) noexcept;
  MappedFile(const MappedFile &) = delete;
  MappedFile &operator=(const MappedFile &) = delete;
  ~MappedFile();

  const std::string &path() const { return path_; }
  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  size_t size() const { return size_; }

private:
  void release();

  std::string path_;
  const uint8_t *data_ = nullptr;
  size_t size_ = 0;
};

} // namespace greta
