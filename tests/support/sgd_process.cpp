#include "tests/support/sgd_process.hpp"

#include "tests/support/ports.hpp"
#include "tests/support/wait.hpp"

#include <catch2/catch.hpp>

#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <thread>

namespace sg::test {

std::string read_text_file(const std::string& path, std::size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  in.seekg(0, std::ios::end);
  auto size = static_cast<std::size_t>(std::max<std::streamoff>(in.tellg(), 0));
  auto start = size > max_bytes ? size - max_bytes : 0;
  in.seekg(static_cast<std::streamoff>(start));
  std::string out(size - start, '\0');
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  out.resize(static_cast<std::size_t>(std::max<std::streamsize>(in.gcount(), 0)));
  return out;
}

std::string make_temp_dir(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
  char* dir = ::mkdtemp(tmpl.data());
  REQUIRE(dir != nullptr);
  return tmpl;
}

sgd_instance::sgd_instance(sgd_options opts) : opts_(std::move(opts)) {
  temp_dir_ = make_temp_dir("sgd-test");
  data_dir_ = opts_.data_dir.empty() ? temp_dir_ + "/data" : opts_.data_dir;
  log_path_ = temp_dir_ + "/sgd.log";
  ready_file_ = temp_dir_ + "/ready.json";
  admin_port_ = opts_.admin_port ? opts_.admin_port : free_port();
  proxy_port_ = opts_.proxy_port;
  for (int i = 0; i < 10 && (proxy_port_ == 0 || proxy_port_ == admin_port_); ++i)
    proxy_port_ = free_port();
  REQUIRE(admin_port_ != 0);
  REQUIRE(proxy_port_ != 0);
  start();
  if (opts_.wait_ready) wait_ready(opts_.ready_timeout);
}

sgd_instance::~sgd_instance() {
  proc_.kill9();
  if (!opts_.keep_data) {
    std::error_code ec;
    std::filesystem::remove_all(temp_dir_, ec);
  }
}

void sgd_instance::start() {
  std::error_code ec;
  std::filesystem::remove(ready_file_, ec);
  std::vector<std::string> args = {
      "--admin",      "127.0.0.1:" + std::to_string(admin_port_),
      "--listen",     "127.0.0.1:" + std::to_string(proxy_port_),
      "--data-dir",   data_dir_,
      "--ready-file", ready_file_,
      "--log-level",  opts_.log_level,
  };
  if (!opts_.admin_token.empty()) {
    args.push_back("--admin-token");
    args.push_back(opts_.admin_token);
  }
  args.insert(args.end(), opts_.extra_args.begin(), opts_.extra_args.end());
  {
    std::ofstream log(log_path_, std::ios::app);
    log << "---- test harness: starting " << SGD_BINARY;
    for (auto& a : args) log << ' ' << a;
    log << '\n';
  }
  bool started = proc_.start(SGD_BINARY, args, opts_.env, log_path_);
  INFO(proc_.error());
  REQUIRE(started);
}

void sgd_instance::wait_ready(std::chrono::milliseconds timeout) {
  bool exited = false;
  bool ready = wait_until(
      [&] {
        if (!proc_.alive()) {
          exited = true;
          return true;
        }
        if (!std::filesystem::exists(ready_file_)) return false;
        auto r = admin("GET", "/api/octopusservernodes/ping", "", {}, std::chrono::seconds(2));
        return r.status == 200 || r.status == 418;
      },
      timeout);
  if (exited || !ready) {
    auto code = proc_.exit_status();
    INFO("sgd " << (exited ? "exited (status " + std::to_string(code.value_or(-1)) + ")"
                           : std::string("did not become ready"))
                << " during start-up; log " << log_path_ << ":\n"
                << log_text());
    FAIL("sgd start-up failed");
  }
}

std::string sgd_instance::log_text() const { return read_text_file(log_path_); }

std::optional<int> sgd_instance::stop(std::chrono::milliseconds timeout) {
  if (!proc_.alive()) return proc_.exit_status();
  proc_.signal(SIGTERM);
  auto code = proc_.wait_exit(timeout);
  if (!code) proc_.kill9();
  return code;
}

void sgd_instance::kill9() { proc_.kill9(); }

void sgd_instance::restart() {
  if (proc_.alive()) stop();
  start();
  wait_ready(opts_.ready_timeout);
}

http_result sgd_instance::admin(const std::string& method, const std::string& target,
                                const std::string& body, header_map headers,
                                std::chrono::milliseconds timeout) const {
  if (!opts_.admin_token.empty() && !headers.count("Authorization") &&
      !headers.count("authorization"))
    headers["Authorization"] = "Bearer " + opts_.admin_token;
  if (!body.empty() && !headers.count("Content-Type") && !headers.count("content-type"))
    headers["Content-Type"] = "application/json";
  return request(method, admin_port_, target, body, headers, timeout);
}

http_result sgd_instance::proxy(const std::string& method, const std::string& target,
                                const std::string& body, const header_map& headers,
                                std::chrono::milliseconds timeout) const {
  return request(method, proxy_port_, target, body, headers, timeout);
}

}  // namespace sg::test
