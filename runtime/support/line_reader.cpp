#include "runtime/support/line_reader.h"

#include "runtime/support/error.h"
#include "runtime/support/interrupt.h"

#include <cerrno>
#include <cstring>
#include <poll.h>
#include <unistd.h>

namespace greta {

bool LineReader::next(std::string &line) {
  for (;;) {
    if (const size_t end = buffer_.find('\n'); end != std::string::npos) {
      line.assign(buffer_, 0, end);
      buffer_.erase(0, end + 1);
      return true;
    }
    if (ended_) {
      if (buffer_.empty())
        return false;
      line = std::move(buffer_);
      buffer_.clear();
      return true;
    }
    if (interruptRequested())
      return false;
    pollfd wait{.fd = fd_, .events = POLLIN, .revents = 0};
    if (::poll(&wait, 1, -1) < 0) {
      if (errno == EINTR)
        continue; // a signal: Ctrl-C is checked above
      fail("reading lines from fd {}: poll failed: {}", fd_, std::strerror(errno));
    }
    char chunk[4096];
    const ssize_t n = ::read(fd_, chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN)
        continue;
      fail("reading lines from fd {}: read failed: {}", fd_, std::strerror(errno));
    }
    if (n == 0)
      ended_ = true;
    buffer_.append(chunk, static_cast<size_t>(n));
  }
}

} // namespace greta
