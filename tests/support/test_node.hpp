// The test node (tests/support/test_node_main.cpp) as a test fixture: started on a free port
// (or a given one), waited on via its ready file, steered through its /control endpoints.
// Start-up and control failures fail the current test via Catch2 REQUIRE.
#pragma once

#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sg::test {

struct test_node_options {
  std::string name = "node";
  std::uint16_t port = 0;   // 0: any free port (read back from the ready file)
  std::string tls_cert;     // both set: serve HTTPS (see tls_files.hpp)
  std::string tls_key;
  std::chrono::milliseconds ready_timeout{10000};
};

class test_node_process {
 public:
  explicit test_node_process(test_node_options opts);
  explicit test_node_process(const std::string& name) : test_node_process(named(name)) {}
  ~test_node_process();  // SIGKILLs a running node, removes its temp dir
  test_node_process(const test_node_process&) = delete;
  test_node_process& operator=(const test_node_process&) = delete;

  std::uint16_t port() const { return port_; }
  const std::string& name() const { return opts_.name; }
  bool tls() const { return !opts_.tls_cert.empty(); }
  std::string base_url() const;  // "http://127.0.0.1:PORT" (https with TLS)
  std::string log_text() const;
  pid_t pid() const { return proc_.pid(); }
  bool alive() { return proc_.alive(); }

  // A request straight to the node (TLS-aware).
  http_result request(const std::string& method, const std::string& target,
                      const std::string& body = "", const header_map& headers = {},
                      std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;

  // Control endpoints; each REQUIREs a 200 answer.
  void set_health(int status);          // GET /health answers `status`
  void set_delay(int ms);               // delay before answering non-control requests
  void set_status(int code);            // status of the default (echo) answer
  void reset();                         // health 200, status 200, no delay
  std::uint64_t requests_served();      // requests excluding /control and /health
  std::int64_t in_flight();

  std::optional<int> stop(std::chrono::milliseconds timeout = std::chrono::seconds(10));  // SIGTERM
  void kill9();
  // Starts again on the same port (e.g. a node coming back after kill9()).
  void restart();

 private:
  static test_node_options named(const std::string& n) {
    test_node_options o;
    o.name = n;
    return o;
  }
  void start(std::uint16_t port);
  void control(const std::string& target);

  test_node_options opts_;
  std::string temp_dir_, ready_file_, log_path_;
  std::uint16_t port_ = 0;
  child_process proc_;
};

}  // namespace sg::test
