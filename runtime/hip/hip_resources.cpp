#include "runtime/hip/hip_resources.h"

#include "runtime/hip/hip_platform.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace greta::hip {
namespace {

/// "… needs 1.50 GiB (1610612736 bytes); the device has 1.02 GiB free of 79.10 GiB".
std::string outOfMemoryMessage(const HipApi &api, size_t bytes, std::string_view purpose,
                               std::string_view cause) {
  size_t freeBytes = 0, totalBytes = 0;
  hipError_t status = api.hipMemGetInfo(&freeBytes, &totalBytes);
  std::string available =
      status == hipSuccess
          ? fmt::format("the device has {} free of {}", formatBytes(freeBytes),
                        formatBytes(totalBytes))
          : fmt::format("free memory unknown (hipMemGetInfo: {})", hipErrorName(status));
  return fmt::format("out of GPU memory: '{}' needs {} ({} bytes); {} [{}]", purpose,
                     formatBytes(bytes), bytes, available, cause);
}

} // namespace

DeviceBuffer::DeviceBuffer(const HipApi &api, size_t bytes, std::string_view purpose) {
  void *memory = nullptr;
  try {
    GRETA_HIP_CHECK(api, hipMalloc(&memory, bytes));
  } catch (const HipError &error) {
    if (!error.isOutOfMemory())
      throw;
    throw HipError(outOfMemoryMessage(api, bytes, purpose, error.what()), error.code(),
                   error.call(), /*fromRtc=*/false);
  }
  memory_ = {api, memory};
  size_ = bytes;
}

void DeviceBuffer::copyFromHost(std::span<const uint8_t> bytes) {
  if (bytes.size() > size_)
    fail("copy of {} bytes into a device buffer of {} bytes", bytes.size(), size_);
  GRETA_HIP_CHECK(memory_.api(),
                  hipMemcpy(data(), bytes.data(), bytes.size(), hipMemcpyHostToDevice));
}

void DeviceBuffer::copyToHost(std::span<uint8_t> bytes) const {
  if (bytes.size() > size_)
    fail("copy of {} bytes out of a device buffer of {} bytes", bytes.size(), size_);
  GRETA_HIP_CHECK(memory_.api(),
                  hipMemcpy(bytes.data(), data(), bytes.size(), hipMemcpyDeviceToHost));
}

PinnedHostBuffer::PinnedHostBuffer(const HipApi &api, size_t bytes) {
  void *memory = nullptr;
  GRETA_HIP_CHECK(api, hipHostMalloc(&memory, bytes, /*flags=hipHostMallocDefault*/ 0));
  memory_ = {api, memory};
  size_ = bytes;
}

Stream::Stream(const HipApi &api, StreamPriority priority) {
  hipStream_t stream = nullptr;
  if (priority == StreamPriority::Normal) {
    GRETA_HIP_CHECK(api, hipStreamCreate(&stream));
  } else {
    int least = 0, greatest = 0;
    GRETA_HIP_CHECK(api, hipDeviceGetStreamPriorityRange(&least, &greatest));
    GRETA_HIP_CHECK(api, hipStreamCreateWithPriority(&stream, 0, greatest));
  }
  stream_ = {api, stream};
}

void Stream::synchronize() const { GRETA_HIP_CHECK(stream_.api(), hipStreamSynchronize(get())); }

Event::Event(const HipApi &api) {
  hipEvent_t event = nullptr;
  GRETA_HIP_CHECK(api, hipEventCreate(&event));
  event_ = {api, event};
}

void Event::record(hipStream_t stream) const {
  GRETA_HIP_CHECK(event_.api(), hipEventRecord(get(), stream));
}

void Event::synchronize() const { GRETA_HIP_CHECK(event_.api(), hipEventSynchronize(get())); }

float Event::elapsedMilliseconds(const Event &start, const Event &stop) {
  float milliseconds = 0.0f;
  GRETA_HIP_CHECK(start.event_.api(), hipEventElapsedTime(&milliseconds, start.get(), stop.get()));
  return milliseconds;
}

Module::Module(const HipApi &api, std::span<const uint8_t> code, std::string name)
    : name_(std::move(name)) {
  // CUBINs and AMD code objects are ELF files. Anything else would reach the driver's PTX JIT,
  // which reads a NUL-terminated string: past the end of a buffer that has no NUL.
  constexpr std::array<uint8_t, 4> kElfMagic = {0x7f, 'E', 'L', 'F'};
  if (code.size() < kElfMagic.size() || !std::equal(kElfMagic.begin(), kElfMagic.end(), code.begin()))
    fail("kernel '{}': its code object ({} bytes) is not an ELF file (a CUBIN or an AMD code "
         "object); refusing to load it",
         name_, code.size());
  hipModule_t module = nullptr;
  try {
    GRETA_HIP_CHECK(api, hipModuleLoadData(&module, code.data()));
  } catch (const HipError &error) {
    throw HipError(fmt::format("kernel '{}': loading its code object ({} bytes) failed: {}",
                               name_, code.size(), error.what()),
                   error.code(), error.call(), /*fromRtc=*/false);
  }
  module_ = {api, module};
}

hipFunction_t Module::function(const char *entry) const {
  hipFunction_t function = nullptr;
  try {
    GRETA_HIP_CHECK(module_.api(), hipModuleGetFunction(&function, module_.get(), entry));
  } catch (const HipError &error) {
    throw HipError(fmt::format("kernel '{}': entry point '{}' not found in its code object: {}",
                               name_, entry, error.what()),
                   error.code(), error.call(), /*fromRtc=*/false);
  }
  return function;
}

GraphExec GraphExec::capture(const HipApi &api, hipStream_t stream,
                             const std::function<void()> &enqueue) {
  GRETA_HIP_CHECK(api, hipStreamBeginCapture(stream, hipStreamCaptureModeThreadLocal));
  try {
    enqueue();
  } catch (...) {
    hipGraph_t discarded = nullptr;
    (void)api.hipStreamEndCapture(stream, &discarded);
    if (discarded)
      (void)api.hipGraphDestroy(discarded);
    throw;
  }
  hipGraph_t captured = nullptr;
  hipError_t ended = api.hipStreamEndCapture(stream, &captured);
  HipHandle<hipGraph_t, &HipApi::hipGraphDestroy> graph(api, captured);
  checkHipCall(api, ended, "hipStreamEndCapture(stream, &captured)", __FILE__, __LINE__);

  hipGraphExec_t exec = nullptr;
  GRETA_HIP_CHECK(api, hipGraphInstantiate(&exec, graph.get(), nullptr, nullptr, 0));
  GraphExec result;
  result.exec_ = {api, exec};
  return result; // the executable graph no longer needs `graph`
}

void GraphExec::launch(hipStream_t stream) const {
  GRETA_HIP_CHECK(exec_.api(), hipGraphLaunch(exec_.get(), stream));
}

} // namespace greta::hip
