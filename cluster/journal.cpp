#include "cluster/journal.hpp"

#include "cluster/crc32c.hpp"
#include "metrics/log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sg {

namespace {

constexpr char magic[8] = {'S', 'G', 'D', 'J', 'R', 'N', 'L', '1'};
constexpr size_t header_size = 8;  // u32 length, u32 crc32c (little endian)

std::string sys_error(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

void put_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
}

uint32_t get_u32(const unsigned char* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

std::string frame(const std::vector<std::string>& payloads) {
  std::string buf;
  for (auto& p : payloads) {
    put_u32(buf, static_cast<uint32_t>(p.size()));
    put_u32(buf, crc32c(p.data(), p.size()));
    buf += p;
  }
  return buf;
}

bool write_all(int fd, const std::string& buf) {
  size_t off = 0;
  while (off < buf.size()) {
    auto n = ::write(fd, buf.data() + off, buf.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

std::string dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash);
}

bool fsync_dir(const std::string& dir) {
  int d = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d < 0) return false;
  bool ok = ::fsync(d) == 0;
  ::close(d);
  return ok;
}

}  // namespace

journal::journal(journal&& other) noexcept
    : path_(std::move(other.path_)), fd_(other.fd_), size_(other.size_.load()) {
  other.fd_ = -1;
}

journal& journal::operator=(journal&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(other.path_);
    fd_ = other.fd_;
    size_ = other.size_.load();
    other.fd_ = -1;
  }
  return *this;
}

journal::~journal() {
  if (fd_ >= 0) ::close(fd_);
}

std::string journal::open(const std::string& path,
                          const std::function<void(std::string_view)>& on_entry,
                          journal_recovery& rec) {
  path_ = path;
  fd_ = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd_ < 0 && errno == ENOENT) {
    // New journal: created whole via rewrite so a crash never leaves a file without its magic.
    if (auto err = rewrite({}); !err.empty()) return err;
    return {};
  }
  if (fd_ < 0) return sys_error("cannot open journal", path);
  struct stat sb {};
  if (::fstat(fd_, &sb) != 0) return sys_error("cannot stat journal", path);
  std::string data(static_cast<size_t>(sb.st_size), '\0');
  size_t got = 0;
  while (got < data.size()) {
    auto n = ::pread(fd_, data.data() + got, data.size() - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return sys_error("cannot read journal", path);
    got += static_cast<size_t>(n);
  }
  if (data.size() < sizeof magic || std::memcmp(data.data(), magic, sizeof magic) != 0)
    return "journal " + path + " is not an sgd journal (bad header); move it away to start empty";
  auto p = reinterpret_cast<const unsigned char*>(data.data());
  size_t off = sizeof magic;
  while (off < data.size()) {
    std::string reason;
    if (data.size() - off < header_size) {
      reason = "torn entry header";
    } else {
      auto len = get_u32(p + off);
      auto crc = get_u32(p + off + 4);
      if (len > max_entry)
        reason = "entry length " + std::to_string(len) + " out of bounds";
      else if (data.size() - off - header_size < len)
        reason = "torn entry body";
      else if (crc32c(p + off + header_size, len) != crc)
        reason = "checksum mismatch";
      if (reason.empty()) {
        on_entry(std::string_view(data.data() + off + header_size, len));
        ++rec.entries;
        off += header_size + len;
        continue;
      }
    }
    rec.dropped_bytes = data.size() - off;
    rec.dropped_reason = reason;
    log::warn("journal tail dropped", {{"file", path},
                                       {"offset", std::to_string(off)},
                                       {"bytes", std::to_string(rec.dropped_bytes)},
                                       {"reason", reason}});
    if (::ftruncate(fd_, static_cast<off_t>(off)) != 0 || ::fdatasync(fd_) != 0)
      return sys_error("cannot cut the torn tail of journal", path);
    break;
  }
  rec.valid_bytes = off;
  size_ = off;
  return {};
}

std::string journal::append(const std::vector<std::string>& payloads) {
  if (fd_ < 0) return "journal is not open";
  auto buf = frame(payloads);
  if (::lseek(fd_, static_cast<off_t>(size_.load()), SEEK_SET) < 0 || !write_all(fd_, buf) ||
      ::fdatasync(fd_) != 0) {
    auto err = sys_error("cannot append to journal", path_);
    [[maybe_unused]] auto r = ::ftruncate(fd_, static_cast<off_t>(size_.load()));
    return err;
  }
  size_ += buf.size();
  return {};
}

std::string journal::rewrite(const std::vector<std::string>& payloads) {
  auto tmp = path_ + ".tmp";
  int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return sys_error("cannot create", tmp);
  std::string buf(magic, sizeof magic);
  buf += frame(payloads);
  if (!write_all(fd, buf) || ::fsync(fd) != 0) {
    auto err = sys_error("cannot write", tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return err;
  }
  if (::rename(tmp.c_str(), path_.c_str()) != 0) {
    auto err = sys_error("cannot rename over", path_);
    ::close(fd);
    ::unlink(tmp.c_str());
    return err;
  }
  if (!fsync_dir(dir_of(path_))) {
    ::close(fd);
    return sys_error("cannot fsync directory of", path_);
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  size_ = buf.size();
  return {};
}

}  // namespace sg
