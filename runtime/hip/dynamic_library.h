//===- dynamic_library.h - Open a GPU library at run time, saying where we looked ===//
//
// GRETA links no GPU library: each is opened with dlopen from a list of candidates (sonames the
// dynamic loader resolves, then absolute paths), and a failure reports every candidate tried.
// An environment variable replaces the whole list (a colon-separated list of paths), which is
// also how tests simulate a missing driver: GRETA_CUDA_LIBRARY=/nonexistent.
//
// Thread-safety: the functions are thread-safe (dlopen is).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <string>
#include <vector>

namespace greta::hip {

/// Where to look for one library.
struct LibrarySearch {
  std::string what;                    ///< "CUDA driver (libcuda)", for messages
  std::string overrideVariable;        ///< e.g. "GRETA_CUDA_LIBRARY"; replaces `candidates`
  std::vector<std::string> candidates; ///< tried in order; duplicates are skipped
};

/// An opened library, or why not.
struct OpenedLibrary {
  void *handle = nullptr; ///< stays open for the life of the process
  std::string path;       ///< the candidate that opened (resolved to a file where possible)
  std::vector<std::string> tried;
  std::string error;      ///< empty when opened; else "<what> not found (tried …)"
};

/// Tries each candidate (or the override variable's list, when set and non-empty).
OpenedLibrary openLibrary(const LibrarySearch &search);

/// The file a symbol of an opened library lives in (dladdr), or "" when unknown.
std::string libraryFileOf(const void *symbol);

/// `directory` + "/" + each name, for each directory that is non-empty.
std::vector<std::string> joinPaths(const std::vector<std::string> &directories,
                                   const std::vector<std::string> &names);

/// The value of environment variable `name`, or "" when unset.
std::string environmentValue(const char *name);

} // namespace greta::hip
