#include "runtime/hip/dynamic_library.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <dlfcn.h>
#include <string_view>

namespace greta::hip {
namespace {

std::vector<std::string> splitPathList(std::string_view list) {
  std::vector<std::string> paths;
  while (!list.empty()) {
    size_t colon = list.find(':');
    std::string_view item = list.substr(0, colon);
    if (!item.empty())
      paths.emplace_back(item);
    if (colon == std::string_view::npos)
      break;
    list.remove_prefix(colon + 1);
  }
  return paths;
}

} // namespace

std::string environmentValue(const char *name) {
  const char *value = std::getenv(name);
  return value ? std::string(value) : std::string();
}

OpenedLibrary openLibrary(const LibrarySearch &search) {
  OpenedLibrary result;
  std::vector<std::string> candidates = search.candidates;
  std::string overridden;
  if (!search.overrideVariable.empty()) {
    overridden = environmentValue(search.overrideVariable.c_str());
    if (!overridden.empty())
      candidates = splitPathList(overridden);
  }
  std::vector<std::string> failures; // dlerror() for candidates that exist but did not load
  for (const std::string &candidate : candidates) {
    if (std::find(result.tried.begin(), result.tried.end(), candidate) != result.tried.end())
      continue;
    result.tried.push_back(candidate);
    if (void *handle = ::dlopen(candidate.c_str(), RTLD_NOW | RTLD_LOCAL)) {
      result.handle = handle;
      result.path = candidate;
      return result;
    }
    const char *reason = ::dlerror();
    if (reason && !std::string_view(reason).ends_with("No such file or directory"))
      failures.emplace_back(reason);
  }
  result.error = fmt::format("{} not found (tried {}{})", search.what,
                             fmt::join(result.tried, ", "),
                             overridden.empty()
                                 ? std::string()
                                 : fmt::format(", from {}", search.overrideVariable));
  if (!failures.empty())
    result.error += fmt::format("; load errors: {}", fmt::join(failures, "; "));
  return result;
}

std::string libraryFileOf(const void *symbol) {
  Dl_info info{};
  if (!symbol || ::dladdr(symbol, &info) == 0 || !info.dli_fname)
    return {};
  if (char *resolved = ::realpath(info.dli_fname, nullptr)) {
    std::string path(resolved);
    std::free(resolved);
    return path;
  }
  return info.dli_fname;
}

std::vector<std::string> joinPaths(const std::vector<std::string> &directories,
                                   const std::vector<std::string> &names) {
  std::vector<std::string> paths;
  for (const std::string &directory : directories) {
    if (directory.empty())
      continue;
    for (const std::string &name : names)
      paths.push_back(directory + "/" + name);
  }
  return paths;
}

} // namespace greta::hip
