#include "tests/support/test_node.hpp"

#include "tests/support/sgd_process.hpp"
#include "tests/support/wait.hpp"

#include <catch2/catch.hpp>

#include <signal.h>

#include <filesystem>

namespace sg::test {

test_node_process::test_node_process(test_node_options opts) : opts_(std::move(opts)) {
  temp_dir_ = make_temp_dir("sg-test-node");
  ready_file_ = temp_dir_ + "/ready.json";
  log_path_ = temp_dir_ + "/node.log";
  start(opts_.port);
}

test_node_process::~test_node_process() {
  proc_.kill9();
  std::error_code ec;
  std::filesystem::remove_all(temp_dir_, ec);
}

void test_node_process::start(std::uint16_t port) {
  std::error_code ec;
  std::filesystem::remove(ready_file_, ec);
  std::vector<std::string> args = {"--port", std::to_string(port), "--name", opts_.name,
                                   "--ready-file", ready_file_};
  if (tls()) {
    args.insert(args.end(), {"--tls-cert", opts_.tls_cert, "--tls-key", opts_.tls_key});
  }
  bool started = proc_.start(TEST_NODE_BINARY, args, {}, log_path_);
  INFO(proc_.error());
  REQUIRE(started);
  std::uint16_t bound = 0;
  bool exited = false;
  wait_until(
      [&] {
        if (!proc_.alive()) {
          exited = true;
          return true;
        }
        auto doc = json(read_text_file(ready_file_, 4096));
        if (doc.HasParseError() || !doc.IsObject()) return false;
        auto it = doc.FindMember("port");
        if (it == doc.MemberEnd() || !it->value.IsUint() || it->value.GetUint() > 65535)
          return false;
        bound = static_cast<std::uint16_t>(it->value.GetUint());
        return true;
      },
      opts_.ready_timeout);
  INFO("test node " << opts_.name << (exited ? " exited" : " not ready") << "; log:\n"
                    << log_text());
  REQUIRE(!exited);
  REQUIRE(bound != 0);
  port_ = bound;
}

std::string test_node_process::base_url() const {
  return (tls() ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(port_);
}

std::string test_node_process::log_text() const { return read_text_file(log_path_); }

http_result test_node_process::request(const std::string& method, const std::string& target,
                                       const std::string& body, const header_map& headers,
                                       std::chrono::milliseconds timeout) const {
  return tls() ? request_tls(method, port_, target, body, headers, timeout)
               : sg::test::request(method, port_, target, body, headers, timeout);
}

void test_node_process::control(const std::string& target) {
  auto r = request("POST", target);
  INFO("test node " << opts_.name << " " << target << ": " << r.status << " " << r.error << " "
                    << r.body);
  REQUIRE(r.status == 200);
}

void test_node_process::set_health(int status) {
  control("/control/health?status=" + std::to_string(status));
}
void test_node_process::set_delay(int ms) { control("/control/delay?ms=" + std::to_string(ms)); }
void test_node_process::set_status(int code) {
  control("/control/status?code=" + std::to_string(code));
}
void test_node_process::reset() { control("/control/reset"); }

namespace {
rapidjson::Document stats_of(const test_node_process& n) {
  auto r = n.request("GET", "/control/stats");
  INFO("test node " << n.name() << " stats: " << r.status << " " << r.error << " " << r.body);
  REQUIRE(r.status == 200);
  auto doc = json(r);
  REQUIRE(doc.IsObject());
  return doc;
}
}  // namespace

std::uint64_t test_node_process::requests_served() {
  auto doc = stats_of(*this);
  auto it = doc.FindMember("requests");
  REQUIRE((it != doc.MemberEnd() && it->value.IsUint64()));
  return it->value.GetUint64();
}

std::int64_t test_node_process::in_flight() {
  auto doc = stats_of(*this);
  auto it = doc.FindMember("inFlight");
  REQUIRE((it != doc.MemberEnd() && it->value.IsInt64()));
  return it->value.GetInt64();
}

std::optional<int> test_node_process::stop(std::chrono::milliseconds timeout) {
  if (!proc_.alive()) return proc_.exit_status();
  proc_.signal(SIGTERM);
  auto code = proc_.wait_exit(timeout);
  if (!code) proc_.kill9();
  return code;
}

void test_node_process::kill9() { proc_.kill9(); }

void test_node_process::restart() {
  if (proc_.alive()) stop();
  start(port_);
}

}  // namespace sg::test
