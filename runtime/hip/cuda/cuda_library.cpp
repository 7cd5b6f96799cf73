#include "runtime/hip/cuda/cuda_library.h"

#include <fmt/format.h>

#include <dlfcn.h>
#include <filesystem>
#include <string_view>

namespace greta::cuda {
namespace {

/// Looks up each '|'-separated name in turn; the first found fills `slot`.
template <typename Fn> bool resolve(void *handle, std::string_view names, Fn &slot) {
  while (!names.empty()) {
    size_t bar = names.find('|');
    std::string name(names.substr(0, bar));
    if (void *symbol = ::dlsym(handle, name.c_str())) {
      slot = reinterpret_cast<Fn>(symbol);
      return true;
    }
    if (bar == std::string_view::npos)
      break;
    names.remove_prefix(bar + 1);
  }
  return false;
}

/// $CUDA_HOME/<leaf>, $CUDA_PATH/<leaf> (where set), /usr/local/cuda/<leaf>.
std::vector<std::string> toolkitFolders(const char *leaf) {
  std::vector<std::string> folders;
  for (const char *variable : {"CUDA_HOME", "CUDA_PATH"}) {
    std::string root = hip::environmentValue(variable);
    if (!root.empty())
      folders.push_back(fmt::format("{}/{}", root, leaf));
  }
  folders.push_back(fmt::format("/usr/local/cuda/{}", leaf));
  return folders;
}

/// Opens the library `search` finds and resolves its symbols with `resolveAll` (which returns
/// the names it could not find). The file is named by where `anchor`, a symbol every version
/// defines, lives: dlopen may have found the library by a soname that is a link.
template <typename Symbols, typename ResolveAll, typename Anchor>
LoadedSymbols<Symbols> loadSymbols(const hip::LibrarySearch &search, const std::string &what,
                                   ResolveAll resolveAll, Anchor anchor) {
  LoadedSymbols<Symbols> result;
  hip::OpenedLibrary library = hip::openLibrary(search);
  if (!library.handle) {
    result.error = library.error;
    return result;
  }
  const std::vector<std::string> missing = resolveAll(library.handle, result.symbols);
  result.path = hip::libraryFileOf(anchor(result.symbols));
  if (result.path.empty())
    result.path = library.path;
  if (!missing.empty()) {
    result.error = fmt::format("{} at {} lacks required symbols: {}", what, library.path,
                               fmt::join(missing, ", "));
    return result;
  }
  result.loaded = true;
  return result;
}

} // namespace

hip::LibrarySearch cudaDriverSearch() {
  return {"CUDA driver library (libcuda, installed with the NVIDIA driver)",
          "GRETA_CUDA_LIBRARY",
          {"libcuda.so.1", "/usr/local/nvidia/lib64/libcuda.so.1",
           "/usr/lib/x86_64-linux-gnu/libcuda.so.1", "/usr/lib64/libcuda.so.1",
           "/usr/lib/wsl/lib/libcuda.so.1"}};
}

hip::LibrarySearch nvrtcSearch() {
  std::vector<std::string> names = {"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"};
  std::vector<std::string> candidates = names;
  for (std::string &path : hip::joinPaths(toolkitFolders("lib64"), names))
    candidates.push_back(std::move(path));
  return {"NVRTC (libnvrtc, from the CUDA toolkit)", "GRETA_NVRTC_LIBRARY",
          std::move(candidates)};
}

LoadedSymbols<CudaDriverSymbols> loadCudaDriver(const hip::LibrarySearch &search) {
  return loadSymbols<CudaDriverSymbols>(
      search, "the CUDA driver library",
      [](void *handle, CudaDriverSymbols &s) {
        std::vector<std::string> missing;
#define GRETA_CUDA_DRIVER_API(name, symbols, params)                                               \
  if (!resolve(handle, symbols, s.name))                                                           \
    missing.emplace_back(symbols);
#define GRETA_NVRTC_API(ret, name, symbols, params)
#include "runtime/hip/cuda/cuda_symbols.def"
#undef GRETA_CUDA_DRIVER_API
#undef GRETA_NVRTC_API
        return missing;
      },
      [](const CudaDriverSymbols &s) { return reinterpret_cast<const void *>(s.cuInit); });
}

LoadedSymbols<NvrtcSymbols> loadNvrtc(const hip::LibrarySearch &search) {
  return loadSymbols<NvrtcSymbols>(
      search, "NVRTC",
      [](void *handle, NvrtcSymbols &s) {
        std::vector<std::string> missing;
#define GRETA_CUDA_DRIVER_API(name, symbols, params)
#define GRETA_NVRTC_API(ret, name, symbols, params)                                                \
  if (!resolve(handle, symbols, s.name))                                                           \
    missing.emplace_back(symbols);
#include "runtime/hip/cuda/cuda_symbols.def"
#undef GRETA_CUDA_DRIVER_API
#undef GRETA_NVRTC_API
        return missing;
      },
      [](const NvrtcSymbols &s) { return reinterpret_cast<const void *>(s.nvrtcVersion); });
}

std::vector<std::string> cudaIncludeCandidates(const std::string &nvrtcFile) {
  std::vector<std::string> folders;
  if (!nvrtcFile.empty()) {
    // <toolkit>/lib64/libnvrtc.so.13 → <toolkit>/include; also the targets/<arch>/ layout.
    std::filesystem::path libraryFolder = std::filesystem::path(nvrtcFile).parent_path();
    folders.push_back((libraryFolder.parent_path() / "include").string());
  }
  for (std::string &folder : toolkitFolders("include"))
    folders.push_back(std::move(folder));
  return folders;
}

} // namespace greta::cuda
