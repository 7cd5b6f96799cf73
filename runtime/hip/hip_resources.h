//===- hip_resources.h - Owning wrappers for HIP resources ---------------------===//
//
// Every HIP resource the backend creates is owned by one of these move-only wrappers, so it is
// released on every path, errors included. Constructors throw greta::hip::HipError; destructors
// never throw (a failed release at teardown has nothing useful to report).
//
// Out of memory is the one failure users meet in normal operation, so DeviceBuffer's error
// says what the memory was for, how much was requested and how much the device has free.
//
// Thread-safety: a wrapper is not thread-safe; HIP's own rules apply to the handles inside.
// Every call acts on the calling thread's current device (hipSetDevice).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/hip/hip_api.h"

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace greta::hip {

/// A HIP handle and the HipApi entry that releases it.
template <typename Handle, auto Release> class HipHandle {
public:
  HipHandle() = default;
  HipHandle(const HipApi &api, Handle handle) : api_(&api), handle_(handle) {}
  HipHandle(HipHandle &&other) noexcept
      : api_(other.api_), handle_(std::exchange(other.handle_, Handle{})) {}
  HipHandle &operator=(HipHandle &&other) noexcept {
    if (this != &other) {
      reset();
      api_ = other.api_;
      handle_ = std::exchange(other.handle_, Handle{});
    }
    return *this;
  }
  HipHandle(const HipHandle &) = delete;
  HipHandle &operator=(const HipHandle &) = delete;
  ~HipHandle() { reset(); }

  Handle get() const { return handle_; }
  const HipApi &api() const { return *api_; }
  explicit operator bool() const { return handle_ != Handle{}; }
  void reset() {
    if (handle_ != Handle{})
      (void)(api_->*Release)(handle_);
    handle_ = Handle{};
  }

private:
  const HipApi *api_ = nullptr;
  Handle handle_{};
};

/// Device memory on the current device.
class DeviceBuffer {
public:
  DeviceBuffer() = default;
  /// Allocates `bytes` for `purpose` ("kv cache", "weights of blk.0"). Out of memory throws a
  /// HipError (isOutOfMemory()) whose message names the purpose, the size requested and the
  /// memory free and total.
  DeviceBuffer(const HipApi &api, size_t bytes, std::string_view purpose);

  void *data() const { return memory_.get(); }
  template <typename T> T *as() const { return static_cast<T *>(memory_.get()); }
  size_t size() const { return size_; }

  /// Synchronous copies of `bytes.size()` bytes at the start of the buffer (≤ size()).
  void copyFromHost(std::span<const uint8_t> bytes);
  void copyToHost(std::span<uint8_t> bytes) const;

private:
  HipHandle<void *, &HipApi::hipFree> memory_;
  size_t size_ = 0;
};

/// Page-locked host memory (fast and asynchronous copies).
class PinnedHostBuffer {
public:
  PinnedHostBuffer() = default;
  PinnedHostBuffer(const HipApi &api, size_t bytes);
  void *data() const { return memory_.get(); }
  size_t size() const { return size_; }

private:
  HipHandle<void *, &HipApi::hipHostFree> memory_;
  size_t size_ = 0;
};

/// A stream's scheduling priority: where two streams have blocks waiting, the GPU starts the
/// High one's first.
enum class StreamPriority { Normal, High };

class Stream {
public:
  explicit Stream(const HipApi &api, StreamPriority priority = StreamPriority::Normal);
  hipStream_t get() const { return stream_.get(); }
  void synchronize() const;

private:
  HipHandle<hipStream_t, &HipApi::hipStreamDestroy> stream_;
};

class Event {
public:
  explicit Event(const HipApi &api);
  hipEvent_t get() const { return event_.get(); }
  void record(hipStream_t stream) const;
  void synchronize() const;
  /// Milliseconds between two recorded, completed events.
  static float elapsedMilliseconds(const Event &start, const Event &stop);

private:
  HipHandle<hipEvent_t, &HipApi::hipEventDestroy> event_;
};

/// A loaded code object (CUBIN on NVIDIA, code object on AMD).
class Module {
public:
  Module() = default;
  /// Loads `code`, which must be an ELF file (CUBIN or AMD code object; anything else is
  /// refused before the driver sees it); `name` (the kernel's) is used in error messages.
  Module(const HipApi &api, std::span<const uint8_t> code, std::string name);
  /// The `extern "C"` entry point `entry`. Throws naming the module and the entry when absent.
  hipFunction_t function(const char *entry) const;
  const std::string &name() const { return name_; }

private:
  HipHandle<hipModule_t, &HipApi::hipModuleUnload> module_;
  std::string name_;
};

struct Dim3 {
  unsigned x = 1, y = 1, z = 1;
};

/// Launches `function` with `args` as its parameters (each passed by value, in order).
template <typename... Args>
void launchKernel(const HipApi &api, hipFunction_t function, Dim3 grid, Dim3 block,
                  unsigned sharedBytes, hipStream_t stream, Args... args) {
  std::array<void *, sizeof...(Args)> params = {static_cast<void *>(&args)...};
  GRETA_HIP_CHECK(api, hipModuleLaunchKernel(function, grid.x, grid.y, grid.z, block.x, block.y,
                                             block.z, sharedBytes, stream, params.data(),
                                             nullptr));
}

/// An instantiated graph of work captured from a stream (a decode step), replayed with
/// launch(). Capture records; nothing runs until the first launch.
class GraphExec {
public:
  GraphExec() = default;
  /// Captures what `enqueue` puts on `stream` (which must not be the null stream). If `enqueue`
  /// throws, the capture is ended and discarded and the exception propagates.
  static GraphExec capture(const HipApi &api, hipStream_t stream,
                           const std::function<void()> &enqueue);
  void launch(hipStream_t stream) const;

private:
  HipHandle<hipGraphExec_t, &HipApi::hipGraphExecDestroy> exec_;
};

} // namespace greta::hip
