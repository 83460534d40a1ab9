#include "tests/support/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

extern char** environ;

namespace sg::test {

namespace {

using namespace std::chrono_literals;

int decode_status(int st) {
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return -1;
}

// Everything execve needs, built before fork (the child may only make async-signal-safe calls).
struct exec_image {
  std::vector<std::string> argv_store, env_store;
  std::vector<char*> argv, envp;

  exec_image(const std::string& path, const std::vector<std::string>& args,
             const std::map<std::string, std::string>& env) {
    argv_store.push_back(path);
    argv_store.insert(argv_store.end(), args.begin(), args.end());
    for (char** e = environ; e && *e; ++e) {
      std::string kv = *e;
      auto eq = kv.find('=');
      if (eq != std::string::npos && env.count(kv.substr(0, eq))) continue;
      env_store.push_back(std::move(kv));
    }
    for (auto& [k, v] : env) env_store.push_back(k + "=" + v);
    for (auto& s : argv_store) argv.push_back(s.data());
    argv.push_back(nullptr);
    for (auto& s : env_store) envp.push_back(s.data());
    envp.push_back(nullptr);
  }
};

// fork + execve with stdin=/dev/null and stdout/stderr=out_fd. Returns the pid, or -1 with
// *error set. err_pipe reports an exec failure (it closes on a successful exec).
pid_t spawn(const std::string& path, const std::vector<std::string>& args,
            const std::map<std::string, std::string>& env, int out_fd, std::string* error) {
  exec_image img(path, args, env);
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  int err_pipe[2];
  if (null_fd < 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    *error = std::string("spawn setup: ") + std::strerror(errno);
    if (null_fd >= 0) ::close(null_fd);
    return -1;
  }
  long max_fd = ::sysconf(_SC_OPEN_MAX);
  if (max_fd < 0 || max_fd > 65536) max_fd = 65536;
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) {
    // Child: async-signal-safe calls only.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::dup2(null_fd, 0);
    ::dup2(out_fd, 1);
    ::dup2(out_fd, 2);
    // Mark every other descriptor close-on-exec (the error pipe must stay open until exec).
    if (::syscall(SYS_close_range, 3u, ~0u, 4u /* CLOSE_RANGE_CLOEXEC */) != 0)
      for (long fd = 3; fd < max_fd; ++fd) ::fcntl(static_cast<int>(fd), F_SETFD, FD_CLOEXEC);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    ::execve(img.argv[0], img.argv.data(), img.envp.data());
    int e = errno;
    [[maybe_unused]] auto w = ::write(err_pipe[1], &e, sizeof e);
    ::_exit(127);
  }
  ::close(null_fd);
  ::close(err_pipe[1]);
  if (pid < 0) {
    *error = std::string("fork: ") + std::strerror(errno);
    ::close(err_pipe[0]);
    return -1;
  }
  int child_errno = 0;
  ssize_t n;
  do n = ::read(err_pipe[0], &child_errno, sizeof child_errno);
  while (n < 0 && errno == EINTR);
  ::close(err_pipe[0]);
  if (n == static_cast<ssize_t>(sizeof child_errno)) {
    *error = "exec " + path + ": " + std::strerror(child_errno);
    int st;
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    return -1;
  }
  return pid;
}

}  // namespace

child_process::~child_process() { kill9(); }

child_process::child_process(child_process&& o) noexcept
    : pid_(o.pid_), reaped_(o.reaped_), status_(o.status_), error_(std::move(o.error_)) {
  o.pid_ = -1;
  o.reaped_ = false;
  o.status_.reset();
}

child_process& child_process::operator=(child_process&& o) noexcept {
  if (this != &o) {
    kill9();
    pid_ = o.pid_;
    reaped_ = o.reaped_;
    status_ = o.status_;
    error_ = std::move(o.error_);
    o.pid_ = -1;
    o.reaped_ = false;
    o.status_.reset();
  }
  return *this;
}

bool child_process::start(const std::string& path, const std::vector<std::string>& args,
                          const std::map<std::string, std::string>& env,
                          const std::string& log_file) {
  kill9();
  pid_ = -1;
  reaped_ = false;
  status_.reset();
  error_.clear();
  std::string target = log_file.empty() ? "/dev/null" : log_file;
  int out_fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (out_fd < 0) {
    error_ = "open " + target + ": " + std::strerror(errno);
    return false;
  }
  pid_t pid = spawn(path, args, env, out_fd, &error_);
  ::close(out_fd);
  if (pid < 0) return false;
  pid_ = pid;
  return true;
}

bool child_process::try_reap(bool block) {
  if (pid_ <= 0) return false;
  if (reaped_) return true;
  int st = 0;
  pid_t r;
  do r = ::waitpid(pid_, &st, block ? 0 : WNOHANG);
  while (r < 0 && errno == EINTR);
  if (r == pid_) {
    reaped_ = true;
    status_ = decode_status(st);
    return true;
  }
  if (r < 0) {  // ECHILD: someone else reaped it; treat as gone.
    reaped_ = true;
    return true;
  }
  return false;
}

bool child_process::alive() { return pid_ > 0 && !try_reap(false); }

bool child_process::signal(int sig) {
  if (!alive()) return false;
  return ::kill(pid_, sig) == 0;
}

void child_process::kill9() {
  if (!alive()) return;
  ::kill(pid_, SIGKILL);
  wait_exit(5s);
}

std::optional<int> child_process::wait_exit(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return std::nullopt;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (try_reap(false)) return status_;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(5ms);
  }
}

int run_and_wait(const std::string& path, const std::vector<std::string>& args,
                 std::chrono::milliseconds timeout, std::string* output,
                 const std::map<std::string, std::string>& env) {
  constexpr std::size_t max_output = 4 << 20;
  int pipe_fd[2];
  if (::pipe2(pipe_fd, O_CLOEXEC) != 0) {
    if (output) *output = std::string("pipe: ") + std::strerror(errno);
    return -1;
  }
  std::string error;
  pid_t pid = spawn(path, args, env, pipe_fd[1], &error);
  ::close(pipe_fd[1]);
  if (pid < 0) {
    ::close(pipe_fd[0]);
    if (output) *output = error;
    return -1;
  }
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool eof = false, timed_out = false;
  while (!eof) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{pipe_fd[0], POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 100)));
    if (r < 0 && errno != EINTR) break;
    if (r <= 0) continue;
    char buf[16384];
    ssize_t n = ::read(pipe_fd[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      eof = true;
      break;
    }
    if (out.size() < max_output)
      out.append(buf, std::min<std::size_t>(static_cast<std::size_t>(n), max_output - out.size()));
  }
  ::close(pipe_fd[0]);
  // Output closed (or timed out): wait for the exit for what is left of the timeout.
  int st = 0;
  for (;;) {
    pid_t r = ::waitpid(pid, &st, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) return -1;
    if (timed_out || std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
      }
      timed_out = true;
      break;
    }
    std::this_thread::sleep_for(5ms);
  }
  if (output) *output = std::move(out);
  return timed_out ? -1 : decode_status(st);
}

}  // namespace sg::test
