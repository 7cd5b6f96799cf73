#include "runtime/support/interrupt.h"

#include "runtime/support/error.h"

#include <atomic>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace greta {
namespace {

// Everything the signal handler touches is a lock-free atomic or a plain buffer published
// through one, and it calls only async-signal-safe functions (write, unlink, open, getdents64,
// close, _exit): no allocation, no stdio, no locks.
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler reads these atomics");

constexpr int kMaxRegistered = 32;
/// Deepest directory level removed: bundles nest one level (kernels/, ir/).
constexpr int kMaxTreeDepth = 4;

enum SlotState : int { kFree, kFilling, kArmed };

struct Slot {
  std::atomic<int> state{kFree};
  bool directory = false;
  char path[PATH_MAX] = {};
};

Slot gSlots[kMaxRegistered];
std::atomic<int> gInterrupts{0};
std::atomic<bool> gInstalled{false};

void writeStderr(const char *text) {
  ssize_t ignored = ::write(STDERR_FILENO, text, std::strlen(text));
  (void)ignored; // nothing useful to do if stderr is gone
}

bool isDotOrDotDot(const char *name) {
  return name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

/// Removes `name` under `dirFd`: a file, or a directory with everything in it. Raw getdents64
/// because opendir() allocates. Linux's record: u64 ino, s64 off, u16 reclen, u8 type, name.
void removeTree(int dirFd, const char *name, int depth) {
  if (::unlinkat(dirFd, name, 0) == 0 || errno == ENOENT || depth >= kMaxTreeDepth)
    return;
  const int fd = ::openat(dirFd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return;
  constexpr size_t kRecordLengthAt = 16, kNameAt = 19;
  alignas(8) char buffer[2048];
  for (;;) {
    const long bytes = ::syscall(SYS_getdents64, fd, buffer, sizeof buffer);
    if (bytes <= 0)
      break;
    for (long at = 0; at < bytes;) {
      uint16_t length;
      std::memcpy(&length, buffer + at + kRecordLengthAt, sizeof length);
      const char *entry = buffer + at + kNameAt;
      if (!isDotOrDotDot(entry))
        removeTree(fd, entry, depth + 1);
      at += length;
    }
  }
  ::close(fd);
  ::unlinkat(dirFd, name, AT_REMOVEDIR);
}

void onSignal(int signo) {
  const int savedErrno = errno;
  if (signo == SIGINT && gInterrupts.fetch_add(1) == 0) {
    writeStderr("\ngreta: interrupted: stopping at the next safe point "
                "(Ctrl-C again to quit at once)\n");
    errno = savedErrno;
    return;
  }
  for (Slot &slot : gSlots) {
    if (slot.state.load() != kArmed)
      continue;
    if (slot.directory)
      removeTree(AT_FDCWD, slot.path, 0);
    else
      ::unlink(slot.path);
  }
  ::_exit(128 + signo);
}

void installFor(int signo) {
  struct sigaction previous {};
  if (::sigaction(signo, nullptr, &previous) == 0 && previous.sa_handler == SIG_IGN)
    return; // started with the signal ignored (nohup, background jobs): keep ignoring it
  struct sigaction action {};
  action.sa_handler = onSignal;
  // No second signal while the handler runs: the cleanup is never itself cut short.
  sigemptyset(&action.sa_mask);
  sigaddset(&action.sa_mask, SIGINT);
  sigaddset(&action.sa_mask, SIGTERM);
  // Interrupted reads and writes resume; code that must wake up on Ctrl-C waits in poll(),
  // which returns EINTR regardless.
  action.sa_flags = SA_RESTART;
  ::sigaction(signo, &action, nullptr);
}

} // namespace

void installInterruptHandler() {
  if (gInstalled.exchange(true))
    return;
  installFor(SIGINT);
  installFor(SIGTERM);
}

bool interruptRequested() { return gInterrupts.load() > 0; }

void throwIfInterrupted(std::string_view what) {
  if (interruptRequested())
    throw Interrupted(fmt::format("{}: interrupted (Ctrl-C)", what));
}

void clearInterruptRequest() { gInterrupts.store(0); }

RemoveOnHardExit::RemoveOnHardExit(const std::string &path, Kind kind) {
  if (path.empty() || path.size() >= PATH_MAX)
    return;
  for (int i = 0; i < kMaxRegistered; ++i) {
    int expected = kFree;
    if (!gSlots[i].state.compare_exchange_strong(expected, kFilling))
      continue;
    std::memcpy(gSlots[i].path, path.c_str(), path.size() + 1);
    gSlots[i].directory = kind == Kind::Directory;
    gSlots[i].state.store(kArmed); // publishes path and kind to the handler
    slot_ = i;
    return;
  }
}

void RemoveOnHardExit::release() {
  if (slot_ < 0)
    return;
  gSlots[slot_].state.store(kFree);
  slot_ = -1;
}

} // namespace greta
