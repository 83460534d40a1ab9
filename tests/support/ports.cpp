#include "tests/support/ports.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mutex>
#include <random>
#include <set>

namespace sg::test {

namespace {

bool bindable(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

std::uint16_t free_port() {
  // Below the kernel's ephemeral range (32768-60999 by default): no outgoing connection of a
  // parallel test can be given the port between this check and its use, which a port the kernel
  // picked for bind(0) was open to. Only another free_port() caller could collide, 1 in ~12,000.
  // A port is never handed out twice in one process: two picks of one test (a controller's
  // admin and cluster ports) must not be the same free port.
  static std::mutex mutex;
  static std::set<std::uint16_t> issued;
  static std::mt19937 rng{std::random_device{}() ^ static_cast<unsigned>(::getpid())};
  std::lock_guard<std::mutex> guard{mutex};
  std::uniform_int_distribution<int> pick{20000, 32767};
  for (int attempt = 0; attempt < 500; ++attempt) {
    auto port = static_cast<std::uint16_t>(pick(rng));
    if (issued.count(port) || !bindable(port)) continue;
    issued.insert(port);
    return port;
  }
  return 0;
}

}  // namespace sg::test
