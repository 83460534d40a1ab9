// Child processes for integration tests: start a binary with extra environment and a log file,
// signal it, wait for its exit with a timeout. The destructor SIGKILLs and reaps a running
// child, and each child gets PR_SET_PDEATHSIG(SIGKILL), so tests never leak processes.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sg::test {

class child_process {
 public:
  child_process() = default;
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;
  child_process(child_process&& other) noexcept;
  child_process& operator=(child_process&& other) noexcept;

  // Starts `path` with argv = [path, args...], the parent's environment plus `env` (which
  // overrides), stdin from /dev/null and stdout+stderr appended to `log_file` (/dev/null if
  // empty). False with error() set if the file cannot be opened or executed. A running child
  // is killed first. Note: the child gets SIGKILL when the *thread* that started it exits.
  bool start(const std::string& path, const std::vector<std::string>& args,
             const std::map<std::string, std::string>& env = {},
             const std::string& log_file = "");

  const std::string& error() const { return error_; }
  pid_t pid() const { return pid_; }  // -1 before start()
  bool started() const { return pid_ > 0; }

  // True while the child runs (reaps it, without blocking, once it has exited).
  bool alive();
  // Sends `sig`; false if the child is not running.
  bool signal(int sig);
  // SIGKILL and reap (waits up to 5 s).
  void kill9();
  // Waits up to `timeout` for the exit: the exit code, or 128 + signal number if a signal
  // ended it; nullopt if still running (or never started).
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  // The exit status once reaped (same encoding as wait_exit).
  std::optional<int> exit_status() const { return status_; }

 private:
  bool try_reap(bool block);

  pid_t pid_ = -1;
  bool reaped_ = false;
  std::optional<int> status_;
  std::string error_;
};

// Runs a short command to completion: combined stdout+stderr into *output (if given, at most
// 4 MiB kept). Returns the exit code (128 + signal if killed by one), or -1 if it could not
// start or did not finish within `timeout` (then it is killed).
int run_and_wait(const std::string& path, const std::vector<std::string>& args,
                 std::chrono::milliseconds timeout, std::string* output = nullptr,
                 const std::map<std::string, std::string>& env = {});

}  // namespace sg::test
