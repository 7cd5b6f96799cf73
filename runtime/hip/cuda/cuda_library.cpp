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

template <typename Symbols>
void finishLoad(LoadedSymbols<Symbols> &result, const hip::OpenedLibrary &library,
                std::vector<std::string> &missing, const std::string &what) {
  if (!missing.empty()) {
    result.error = fmt::format("{} at {} lacks required symbols: {}", what, library.path,
                               fmt::join(missing, ", "));
    return;
  }
  result.loaded = true;
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
  LoadedSymbols<CudaDriverSymbols> result;
  hip::OpenedLibrary library = hip::openLibrary(search);
  if (!library.handle) {
    result.error = library.error;
    return result;
  }
  std::vector<std::string> missing;
  auto &s = result.symbols;
#define GRETA_CUDA_DRIVER_API(name, symbols, params)                                               \
  if (!resolve(library.handle, symbols, s.name))                                                   \
    missing.emplace_back(symbols);
#define GRETA_NVRTC_API(ret, name, symbols, params)
#include "runtime/hip/cuda/cuda_symbols.def"
#undef GRETA_CUDA_DRIVER_API
#undef GRETA_NVRTC_API
  result.path = hip::libraryFileOf(reinterpret_cast<const void *>(s.cuInit));
  if (result.path.empty())
    result.path = library.path;
  finishLoad(result, library, missing, "the CUDA driver library");
  return result;
}

LoadedSymbols<NvrtcSymbols> loadNvrtc(const hip::LibrarySearch &search) {
  LoadedSymbols<NvrtcSymbols> result;
  hip::OpenedLibrary library = hip::openLibrary(search);
  if (!library.handle) {
    result.error = library.error;
    return result;
  }
  std::vector<std::string> missing;
  auto &s = result.symbols;
#define GRETA_CUDA_DRIVER_API(name, symbols, params)
#define GRETA_NVRTC_API(ret, name, symbols, params)                                                \
  if (!resolve(library.handle, symbols, s.name))                                                   \
    missing.emplace_back(symbols);
#include "runtime/hip/cuda/cuda_symbols.def"
#undef GRETA_CUDA_DRIVER_API
#undef GRETA_NVRTC_API
  result.path = hip::libraryFileOf(reinterpret_cast<const void *>(s.nvrtcVersion));
  if (result.path.empty())
    result.path = library.path;
  finishLoad(result, library, missing, "NVRTC");
  return result;
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
