//===- device_selection.h - --device=auto|cpu|hip: which backend runs --------===//
//
// The one place that decides between the CPU and HIP backends, so every tool behaves alike:
//   --device=cpu   the CPU backend; no GPU library is opened.
//   --device=hip   a GPU is required: failing to open one is an error naming everything tried.
//                  "hip:amd" / "hip:nvidia" require that vendor.
//   --device=auto  a GPU when one is usable, else the CPU backend with a one-line notice saying
//                  why (the caller prints it on stderr).
//
// Thread-safety: selectDevice is as thread-safe as the opener it is given (the default is).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/hip/hip_platform.h"

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace greta::hip {

enum class DeviceKind { Auto, Cpu, Hip };

struct DeviceRequest {
  DeviceKind kind = DeviceKind::Auto;
  PlatformPreference platform = PlatformPreference::Auto; ///< for Auto and Hip
};

/// "auto", "cpu", "hip", "hip:amd", "hip:nvidia". Throws greta::Error naming the value and the
/// accepted ones.
DeviceRequest parseDeviceRequest(std::string_view text);

struct DeviceChoice {
  DeviceKind backend = DeviceKind::Cpu; ///< Cpu or Hip, never Auto
  std::optional<HipPlatform> hip;       ///< set when backend is Hip
  std::string notice;                   ///< one line, set when auto fell back to the CPU
};

/// Opens a GPU platform; throws greta::Error when none is usable. Tests pass fakes.
using HipOpener = std::function<HipPlatform(PlatformPreference)>;

/// Decides the backend for `request`, opening a GPU with `openHip` (default: openHipPlatform on
/// device 0). Throws greta::Error only when the request is `hip` and no GPU could be opened.
DeviceChoice selectDevice(const DeviceRequest &request, const HipOpener &openHip = {});

} // namespace greta::hip
