//===- interrupt.h - Ctrl-C: stop at the next safe point, never half a file ===//
//
// Tools that run long (greta-run generating, greta-synth and greta-compile writing) install one
// handler for SIGINT and SIGTERM:
//   - the first Ctrl-C only sets a flag; the work polls it at safe points (between tokens,
//     between tensors) and winds down normally: greta-run reports what it generated, writers
//     throw Interrupted so their temporaries are removed by the usual destructors;
//   - a second Ctrl-C, or SIGTERM, exits at once (status 128 + signal) after removing every
//     temporary registered with RemoveOnHardExit, so no half-written output is left behind.
// Outputs are written under temporary names and renamed when complete (AtomicOutputFile), so
// either way the final path holds a whole file or nothing new.
//
// Thread-safety: the flag and the registry may be used from any thread; the handler runs on
// whichever thread the kernel picks.
//
//===----------------------------------------------------------------------===//
#pragma once

// No error.h here: the compiler (built without exceptions) includes this header too.
#include <string>
#include <string_view>

namespace greta {

/// The exit status of a tool stopped by Ctrl-C: what a shell reports for SIGINT (128 + 2).
constexpr int kInterruptedExitStatus = 130;

/// Installs the handler described above for SIGINT and SIGTERM. Idempotent.
void installInterruptHandler();

/// Whether Ctrl-C was pressed since the handler was installed (always false without it).
bool interruptRequested();

/// Throws greta::Interrupted (error.h) "<what>: interrupted (Ctrl-C)" if Ctrl-C was pressed.
void throwIfInterrupted(std::string_view what);

/// Forgets a Ctrl-C, so the next one is a "first" again (tests that simulate one).
void clearInterruptRequest();

/// While alive, `path` (a file, or a directory and everything under it) is removed if the process
/// is ended by a second Ctrl-C or SIGTERM. Registration is best effort: a path longer than
/// PATH_MAX, or more than 32 at once, is not registered (the normal error paths still clean up).
class RemoveOnHardExit {
public:
  enum class Kind { File, Directory };
  RemoveOnHardExit(const std::string &path, Kind kind);
  RemoveOnHardExit(const RemoveOnHardExit &) = delete;
  RemoveOnHardExit &operator=(const RemoveOnHardExit &) = delete;
  ~RemoveOnHardExit() { release(); }

  /// Stops watching the path (it was renamed into place or already removed).
  void release();

private:
  int slot_ = -1;
};

} // namespace greta
