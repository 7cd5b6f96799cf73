#include "runtime/hip/device_selection.h"

#include <fmt/format.h>

namespace greta::hip {
namespace {

/// `text` on one line: a line break and the indentation after it become "; " (or " " after a
/// colon that introduces a list).
std::string oneLine(std::string_view text) {
  std::string line;
  bool broke = false;
  for (char c : text) {
    if (c == '\n') {
      broke = true;
      continue;
    }
    if (broke && c == ' ')
      continue;
    if (broke && !line.empty())
      line += line.back() == ':' ? " " : "; ";
    broke = false;
    line += c;
  }
  return line;
}

} // namespace

DeviceRequest parseDeviceRequest(std::string_view text) {
  if (text == "auto")
    return {DeviceKind::Auto, PlatformPreference::Auto};
  if (text == "cpu")
    return {DeviceKind::Cpu, PlatformPreference::Auto};
  if (text == "hip")
    return {DeviceKind::Hip, PlatformPreference::Auto};
  if (text == "hip:amd")
    return {DeviceKind::Hip, PlatformPreference::Amd};
  if (text == "hip:nvidia")
    return {DeviceKind::Hip, PlatformPreference::Nvidia};
  fail("--device: '{}' is not one of auto, cpu, hip, hip:amd, hip:nvidia", text);
}

DeviceChoice selectDevice(const DeviceRequest &request, const HipOpener &openHip) {
  DeviceChoice choice;
  if (request.kind == DeviceKind::Cpu)
    return choice;

  auto open = [&] {
    return openHip ? openHip(request.platform) : openHipPlatform(request.platform, /*device=*/0);
  };
  if (request.kind == DeviceKind::Hip) {
    try {
      choice.hip = open();
    } catch (const Error &error) {
      fail("--device=hip: {}", error.what());
    }
    choice.backend = DeviceKind::Hip;
    return choice;
  }

  try {
    choice.hip = open();
    choice.backend = DeviceKind::Hip;
  } catch (const Error &error) {
    choice.notice = fmt::format(
        "greta: no usable GPU, running on the CPU (--device=hip makes this an error): {}",
        oneLine(error.what()));
  }
  return choice;
}

} // namespace greta::hip
