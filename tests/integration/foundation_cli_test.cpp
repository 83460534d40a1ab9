// Foundation: sgd's command line — --help, bad flags, unusable data dirs, --config files, and a
// data dir already in use by another sgd.
#include "tests/support/admin_helpers.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/ports.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sgd_process.hpp"
#include "tests/support/wait.hpp"

#include <catch2/catch.hpp>

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

using namespace sg::test;
using namespace std::chrono_literals;

std::string controller_id_of(const http_result& ping) {
  auto d = json(ping);
  if (!d.IsObject() || !d.HasMember("controllerId") || !d["controllerId"].IsString()) return "";
  return d["controllerId"].GetString();
}

}  // namespace

TEST_CASE("foundation: sgd --help exits 0 and documents every flag", "[foundation]") {
  std::string out;
  int code = run_and_wait(SGD_BINARY, {"--help"}, 10s, &out);
  INFO(out);
  CHECK(code == 0);
  for (const char* flag : {"--listen", "--admin", "--data-dir", "--config", "--controller-id",
                           "--threads", "--admin-token", "--log-level", "--insecure-admin"})
    CHECK(out.find(flag) != std::string::npos);
  CHECK(out.find("SGD_ADMIN_TOKEN") != std::string::npos);
}

TEST_CASE("foundation: bad flags and unusable data dirs exit 2 with one line", "[foundation]") {
  temp_dir tmp{"sgd-foundation-cli"};
  const std::string regular = tmp.path + "/a-file";
  write_file(regular, "not a directory\n");
  const std::string admin = "127.0.0.1:" + std::to_string(free_port());
  const std::string listen = "127.0.0.1:" + std::to_string(free_port());
  const std::string data = tmp.path + "/data";
  auto base = [&](std::vector<std::string> extra, const std::string& dir) {
    std::vector<std::string> args = {"--admin", admin, "--listen", listen, "--data-dir", dir,
                                     "--drain-grace", "0"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  struct bad {
    std::vector<std::string> args;
    std::string needle;  // the one line names the problem
  };
  const std::vector<bad> cases = {
      {base({"--bogus"}, data), "bogus"},
      {base({"--threads", "0"}, data), "threads"},
      {base({"--threads", "many"}, data), "threads"},
      {base({"--log-level", "loud"}, data), "log-level"},
      {base({"stray-argument"}, data), "stray-argument"},
      {base({"--admin", "no-port-here"}, data), "admin"},
      {base({"--config", tmp.path + "/missing.conf"}, data), "missing.conf"},
      {base({}, regular + "/sub"), "data dir"},
      {base({}, regular), "data dir"},
      {{"--admin-token"}, "admin-token"},
  };
  for (auto& c : cases) {
    std::string out;
    int code = run_and_wait(SGD_BINARY, c.args, 10s, &out);
    std::string cmd;
    for (auto& a : c.args) cmd += " " + a;
    INFO("sgd" << cmd << "\noutput: " << out);
    CHECK(code == 2);
    auto lines = lines_of(out);
    CHECK(lines.size() == 1);
    CHECK(out.find(c.needle) != std::string::npos);
  }
}

TEST_CASE("foundation: --config FILE sets flags and flags on the command line override it",
          "[foundation]") {
  temp_dir tmp{"sgd-foundation-cli"};
  const auto port = free_port();
  const auto proxy = free_port();
  REQUIRE(port != 0);
  const std::string conf = tmp.path + "/sgd.conf";
  write_file(conf, "# sgd config\n"
                   "admin = 127.0.0.1:" + std::to_string(port) + "\n"
                   "listen = 127.0.0.1:" + std::to_string(proxy) + "\n"
                   "\n"
                   "data-dir = " + tmp.path + "/data\n"
                   "controller-id = from-config\n"
                   "drain-grace = 0\n");
  {
    child_process p;
    REQUIRE(p.start(SGD_BINARY, {"--config", conf}, {}, tmp.path + "/sgd.log"));
    http_result ping;
    bool up = wait_until(
        [&] {
          if (!p.alive()) return true;
          ping = request("GET", port, "/api/octopusservernodes/ping", "", {}, 1s);
          return ping.status == 200;
        },
        15s);
    INFO("log: " << read_text_file(tmp.path + "/sgd.log"));
    REQUIRE(up);
    REQUIRE(p.alive());
    CHECK(controller_id_of(ping) == "from-config");
    CHECK(std::filesystem::exists(tmp.path + "/data"));
    p.signal(SIGTERM);
    CHECK(p.wait_exit(10s).value_or(-1) == 0);
  }
  // The same file with the harness's flags: --admin, --data-dir come from the command line, the
  // controller id still from the file; --controller-id on the command line beats the file too.
  {
    sgd_options o;
    o.extra_args = {"--config", conf};
    sgd_instance sgd(o);
    CHECK(sgd.admin_port() != port);
    CHECK(controller_id_of(sgd.admin("GET", "/api/octopusservernodes/ping")) == "from-config");
    CHECK_FALSE(request("GET", port, "/api/octopusservernodes/ping", "", {}, 1s).ok());
    CHECK(std::filesystem::exists(sgd.data_dir()));
  }
  {
    sgd_options o;
    o.extra_args = {"--config", conf, "--controller-id", "from-flag"};
    sgd_instance sgd(o);
    CHECK(controller_id_of(sgd.admin("GET", "/api/octopusservernodes/ping")) == "from-flag");
  }
  // A config file with an unknown setting: exit 2, one line naming it.
  write_file(conf, "admin = 127.0.0.1:" + std::to_string(port) + "\nfrobnicate = yes\n");
  std::string out;
  int code = run_and_wait(SGD_BINARY, {"--config", conf, "--data-dir", tmp.path + "/d2"}, 10s, &out);
  INFO(out);
  CHECK(code == 2);
  CHECK(lines_of(out).size() == 1);
  CHECK(out.find("frobnicate") != std::string::npos);
}

TEST_CASE("foundation: a second sgd on the same data dir exits 2 (in use)", "[foundation]") {
  sgd_options o;
  o.extra_args = {"--drain-grace", "0"};
  sgd_instance first(o);
  REQUIRE(first.admin("POST", "/api/server-groups/g/nodes",
                      R"({"name":"x","baseUrl":"http://127.0.0.1:1"})")
              .status == 201);

  std::string out;
  int code = run_and_wait(SGD_BINARY,
                          {"--admin", "127.0.0.1:" + std::to_string(free_port()), "--listen",
                           "127.0.0.1:" + std::to_string(free_port()), "--data-dir",
                           first.data_dir()},
                          15s, &out);
  INFO(out);
  CHECK(code == 2);
  CHECK(lines_of(out).size() == 1);
  CHECK(out.find("in use") != std::string::npos);

  // The first one is unharmed.
  REQUIRE(first.alive());
  CHECK(first.admin("GET", "/api/octopusservernodes/ping").status == 200);
  CHECK(first.admin("GET", "/api/server-groups/g/nodes").status == 200);
}
