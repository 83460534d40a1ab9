// The real sgd binary as a test fixture: fresh temp dir (data, ready file, log), free admin and
// proxy ports, started and waited on until it answers ping; stop/kill/restart on the same data.
// Start-up failures fail the current test via Catch2 REQUIRE, with sgd's log in the message.
#pragma once

#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sg::test {

struct sgd_options {
  std::vector<std::string> extra_args;          // appended after the standard flags
  std::map<std::string, std::string> env;       // added to the environment
  std::string data_dir;        // existing data dir to reuse; empty: <temp dir>/data
  bool keep_data = false;      // keep the temp dir (data + log) after the instance is gone
  std::string admin_token;     // passed as --admin-token and sent by admin()
  std::uint16_t admin_port = 0;  // 0: free_port()
  std::uint16_t proxy_port = 0;  // 0: free_port()
  std::string log_level = "debug";
  bool wait_ready = true;      // false: just start (e.g. to test a failing start-up)
  std::chrono::milliseconds ready_timeout{20000};
};

class sgd_instance {
 public:
  // Starts sgd; with wait_ready, REQUIREs the ready file and a 200/418 ping within the timeout.
  explicit sgd_instance(sgd_options opts = {});
  ~sgd_instance();  // SIGKILLs a running sgd; removes the temp dir unless keep_data
  sgd_instance(const sgd_instance&) = delete;
  sgd_instance& operator=(const sgd_instance&) = delete;

  std::uint16_t admin_port() const { return admin_port_; }
  std::uint16_t proxy_port() const { return proxy_port_; }
  const std::string& data_dir() const { return data_dir_; }
  const std::string& temp_dir() const { return temp_dir_; }
  const std::string& log_path() const { return log_path_; }
  const std::string& ready_file() const { return ready_file_; }
  std::string log_text() const;  // the log so far (last 4 MiB at most)
  pid_t pid() const { return proc_.pid(); }
  bool alive() { return proc_.alive(); }
  child_process& process() { return proc_; }

  // SIGTERM, then wait up to `timeout`: the exit code (128+signal if killed), nullopt if it
  // did not exit in time (it is then SIGKILLed).
  std::optional<int> stop(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  void kill9();
  // Stops if running (SIGTERM), then starts again on the same data dir and ports.
  void restart();
  // Waits (REQUIRE) for the ready file and a ping answer; used by the constructor.
  void wait_ready(std::chrono::milliseconds timeout);

  // Calls on the admin port (adding the admin token, if any) and the proxy port.
  http_result admin(const std::string& method, const std::string& target,
                    const std::string& body = "", header_map headers = {},
                    std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
  http_result proxy(const std::string& method, const std::string& target,
                    const std::string& body = "", const header_map& headers = {},
                    std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;

 private:
  void start();

  sgd_options opts_;
  std::string temp_dir_, data_dir_, log_path_, ready_file_;
  std::uint16_t admin_port_ = 0, proxy_port_ = 0;
  child_process proc_;
};

// The contents of a text file (at most the last `max_bytes`), "" if unreadable.
std::string read_text_file(const std::string& path, std::size_t max_bytes = 4u << 20);
// A fresh directory /tmp/<prefix>-XXXXXX (REQUIREs success).
std::string make_temp_dir(const std::string& prefix);

}  // namespace sg::test
