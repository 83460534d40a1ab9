// Foundation: durability of the registry against the real sgd binary — kill -9 and restart on
// the same data dir brings back exactly what was acknowledged, also under a stream of writes;
// a torn journal tail is dropped with a warning.
#include "tests/support/admin_helpers.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/sgd_process.hpp"
#include "tests/support/wait.hpp"

#include <catch2/catch.hpp>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace sg::test;
using namespace std::chrono_literals;

// The durable registry as the API shows it: the group list, each group, each group's nodes.
std::string registry_text(const sgd_instance& sgd) {
  auto list = sgd.admin("GET", "/api/server-groups");
  auto d = json(list);
  if (list.status != 200 || d.HasParseError() || !d.IsObject() || !d.HasMember("groups"))
    return "<list failed: " + std::to_string(list.status) + " " + list.body + ">";
  std::string out = canon(d, ",\n") + "\n";
  std::vector<std::string> names;
  for (auto& g : d["groups"].GetArray()) names.emplace_back(g["name"].GetString());
  std::sort(names.begin(), names.end());
  for (auto& n : names) {
    for (auto target : {"/api/server-groups/" + n, "/api/server-groups/" + n + "/nodes"}) {
      auto g = sgd.admin("GET", target);
      auto gd = json(g);
      out += target + " " + std::to_string(g.status) + ": " +
             (gd.HasParseError() ? "<" + g.body + ">" : canon(gd, ",\n")) + "\n";
    }
  }
  return out;
}

std::string str_of(const http_result& r, const char* k) {
  auto d = json(r);
  if (!d.IsObject() || !d.HasMember(k) || !d[k].IsString()) return "<no " + std::string(k) + ">";
  return d[k].GetString();
}

// Builds a registry with every kind of write; returns the nodeId of the deleted node.
struct populated {
  std::string deleted_id, drained_id, patched_id;
};
populated populate(const sgd_instance& sgd) {
  populated p;
  REQUIRE(sgd.admin("PUT", "/api/server-groups/alpha",
                    R"({"strategy":"weighted_round_robin","healthCheck":{"intervalMs":250,)"
                    R"("timeoutMs":100,"unhealthyAfter":5,"healthyAfter":2}})")
              .status == 201);
  for (int i = 1; i <= 4; ++i) {
    auto r = sgd.admin(
        "POST", "/api/server-groups/alpha/nodes",
        registration_body("n" + std::to_string(i), "http://127.0.0.1:1/n" + std::to_string(i),
                          "\"weight\":" + std::to_string(10 * i) + ",\"metadata\":{\"region\":\"r" +
                              std::to_string(i) + "\",\"gpu\":\"A100\"}"));
    REQUIRE(r.status == 201);
  }
  auto r = sgd.admin(
      "POST", "/api/server-groups/beta/nodes",
      registration_body("b1", "https://127.0.0.1:1", R"("healthUrl":"https://127.0.0.1:1/hz")"));
  REQUIRE(r.status == 201);
  // Update by re-registration.
  r = sgd.admin("POST", "/api/server-groups/alpha/nodes",
                registration_body("n1", "http://127.0.0.1:1/n1-moved", R"("weight":11)"));
  REQUIRE(r.status == 200);
  r = sgd.admin("GET", "/api/server-groups/alpha/nodes");
  auto d = json(r);
  REQUIRE(d.IsObject());
  std::map<std::string, std::string> ids;
  for (auto& n : d["nodes"].GetArray()) ids[n["name"].GetString()] = n["nodeId"].GetString();
  REQUIRE(ids.size() == 4);
  p.patched_id = ids["n2"];
  p.drained_id = ids["n3"];
  p.deleted_id = ids["n4"];
  REQUIRE(sgd.admin("PATCH", "/api/server-groups/alpha/nodes/" + p.patched_id,
                    R"({"weight":77,"metadata":{"m":"v2"}})")
              .status == 200);
  REQUIRE(sgd.admin("POST", "/api/server-groups/alpha/nodes/" + p.drained_id + "/drain").status == 200);
  REQUIRE(sgd.admin("DELETE", "/api/server-groups/alpha/nodes/" + p.deleted_id).status == 204);
  REQUIRE(sgd.admin("PUT", "/api/server-groups/gamma", R"({"strategy":"sticky_session"})").status == 201);
  // A group created and deleted stays deleted.
  REQUIRE(sgd.admin("PUT", "/api/server-groups/gone", "").status == 201);
  REQUIRE(sgd.admin("DELETE", "/api/server-groups/gone").status == 204);
  return p;
}

void check_populated(const sgd_instance& sgd, const populated& p) {
  auto n = sgd.admin("GET", "/api/server-groups/alpha/nodes/" + p.drained_id);
  INFO(n.body);
  CHECK(str_of(n, "adminState") == "draining");
  CHECK(str_of(n, "status") == "draining");
  CHECK(sgd.admin("GET", "/api/server-groups/alpha/nodes/" + p.deleted_id).status == 404);
  CHECK(sgd.admin("GET", "/api/server-groups/gone").status == 404);
  auto patched = json(sgd.admin("GET", "/api/server-groups/alpha/nodes/" + p.patched_id));
  REQUIRE(patched.IsObject());
  CHECK(patched["weight"].GetInt() == 77);
  CHECK(to_text(patched["metadata"]) == R"({"m":"v2"})");
  auto alpha = json(sgd.admin("GET", "/api/server-groups/alpha"));
  REQUIRE(alpha.IsObject());
  CHECK(std::string(alpha["strategy"].GetString()) == "weighted_round_robin");
  CHECK(to_text(alpha["healthCheck"]) ==
        R"({"intervalMs":250,"timeoutMs":100,"unhealthyAfter":5,"healthyAfter":2,"type":"http",)"
        R"("path":"","expectStatus":["200-299"],"expectBody":"","deregisterAfterMs":0})");
}

void append_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

}  // namespace

TEST_CASE("foundation: everything comes back exactly after kill -9 and restart", "[foundation]") {
  sgd_instance sgd(quick_sgd());
  auto p = populate(sgd);
  const std::string before = registry_text(sgd);
  REQUIRE(before.find("<") == std::string::npos);
  check_populated(sgd, p);

  sgd.kill9();
  REQUIRE_FALSE(sgd.alive());
  sgd.restart();

  INFO("before:\n" << before);
  CHECK(registry_text(sgd) == before);
  check_populated(sgd, p);

  // And again after a clean stop on top of the restarted state.
  sgd.restart();
  CHECK(registry_text(sgd) == before);
}

TEST_CASE("foundation: kill -9 during a stream of registrations loses no acknowledged one",
          "[foundation]") {
  sgd_instance sgd(quick_sgd());
  REQUIRE(sgd.admin("PUT", "/api/server-groups/stream-a", R"({"strategy":"round_robin"})").status == 201);

  std::mutex mu;
  std::map<std::string, std::vector<std::string>> acked;  // group -> names acknowledged
  std::map<std::string, std::string> acked_ids;           // name -> nodeId
  std::atomic<bool> killed{false};
  std::atomic<int> count{0};
  auto writer = [&](std::string group, std::string prefix) {
    for (int i = 0; !killed.load() && i < 100000; ++i) {
      auto name = prefix + std::to_string(i);
      auto r =
          sgd.admin("POST", "/api/server-groups/" + group + "/nodes",
                    registration_body(name, "http://127.0.0.1:1/" + name,
                                      "\"weight\":" + std::to_string(1 + i % 1000) +
                                          ",\"metadata\":{\"i\":\"" + std::to_string(i) + "\"}"),
                    {}, 3s);
      if (r.status == 201 || r.status == 200) {
        std::lock_guard<std::mutex> lock(mu);
        acked[group].push_back(name);
        acked_ids[name] = str_of(r, "nodeId");
        ++count;
      }
    }
  };
  std::thread t1(writer, "stream-a", "a-");
  std::thread t2(writer, "stream-b", "b-");  // stream-b is created by its first registration
  bool enough = wait_until([&] { return count.load() >= 60; }, 20s);
  sgd.kill9();
  killed = true;
  t1.join();
  t2.join();
  REQUIRE(enough);

  sgd.restart();
  std::size_t total = 0;
  for (auto& [group, names] : acked) {
    auto r = sgd.admin("GET", "/api/server-groups/" + group + "/nodes");
    REQUIRE(r.status == 200);
    auto d = json(r);
    REQUIRE(d.IsObject());
    std::map<std::string, std::string> present;  // name -> nodeId
    std::map<std::string, int> weight;
    for (auto& n : d["nodes"].GetArray()) {
      present[n["name"].GetString()] = n["nodeId"].GetString();
      weight[n["name"].GetString()] = n["weight"].GetInt();
    }
    for (auto& name : names) {
      INFO("group " << group << " acknowledged " << name);
      REQUIRE(present.count(name) == 1);
      CHECK(present[name] == acked_ids[name]);
      auto i = std::stoi(name.substr(2));
      CHECK(weight[name] == 1 + i % 1000);
    }
    // At most the one in flight at the kill was stored without an answer.
    CHECK(present.size() <= names.size() + 1);
    total += names.size();
  }
  CHECK(total >= 60);
  auto a = json(sgd.admin("GET", "/api/server-groups/stream-a"));
  REQUIRE(a.IsObject());
  CHECK(std::string(a["strategy"].GetString()) == "round_robin");
}

TEST_CASE("foundation: garbage after the journal's last record is dropped with a warning",
          "[foundation]") {
  sgd_instance sgd(quick_sgd());
  auto p = populate(sgd);
  const std::string before = registry_text(sgd);
  REQUIRE(sgd.stop().value_or(-1) == 0);

  const std::string journal = sgd.data_dir() + "/registry.journal";
  REQUIRE(std::filesystem::exists(journal));
  // A plausible-looking entry header (length 40, some crc) and a few bytes of its body, then junk.
  append_bytes(journal, std::string("\x28\x00\x00\x00\xde\xad\xbe\xef", 8) + "half an entry");
  const auto log_mark = sgd.log_text().size();

  sgd.restart();
  auto log = sgd.log_text().substr(log_mark);
  INFO("log since restart:\n" << log);
  CHECK(log.find("tail") != std::string::npos);
  CHECK(log.find("dropped") != std::string::npos);
  CHECK(registry_text(sgd) == before);
  check_populated(sgd, p);

  // New writes land after the good records (the tail was cut), and survive kill -9.
  auto r = sgd.admin("POST", "/api/server-groups/alpha/nodes",
                     registration_body("after", "http://127.0.0.1:1"));
  REQUIRE(r.status == 201);
  const std::string after = registry_text(sgd);
  sgd.kill9();
  sgd.restart();
  CHECK(registry_text(sgd) == after);
  CHECK(sgd.admin("GET", "/api/server-groups/alpha/nodes/" + str_of(r, "nodeId")).status == 200);
}

TEST_CASE("foundation: a journal whose last record is cut short loses only that record",
          "[foundation]") {
  sgd_instance sgd(quick_sgd());
  auto p = populate(sgd);
  const std::string before = registry_text(sgd);
  // The last write: one node record in an existing group; its record is then torn.
  auto last = sgd.admin("POST", "/api/server-groups/alpha/nodes",
                        registration_body("torn", "http://127.0.0.1:1", R"("metadata":{"k":"v"})"));
  REQUIRE(last.status == 201);
  const std::string torn_id = str_of(last, "nodeId");
  REQUIRE(sgd.stop().value_or(-1) == 0);

  const std::string journal = sgd.data_dir() + "/registry.journal";
  auto size = std::filesystem::file_size(journal);
  REQUIRE(size > 16);
  std::filesystem::resize_file(journal, size - 3);
  const auto log_mark = sgd.log_text().size();

  sgd.restart();
  auto log = sgd.log_text().substr(log_mark);
  INFO("log since restart:\n" << log);
  CHECK(log.find("tail") != std::string::npos);
  CHECK(log.find("dropped") != std::string::npos);
  // Everything before the torn record is back exactly; the torn one is gone.
  CHECK(registry_text(sgd) == before);
  check_populated(sgd, p);
  CHECK(sgd.admin("GET", "/api/server-groups/alpha/nodes/" + torn_id).status == 404);

  // Registering it again works and sticks.
  REQUIRE(sgd.admin("POST", "/api/server-groups/alpha/nodes",
                    registration_body("torn", "http://127.0.0.1:1"))
              .status == 201);
  sgd.kill9();
  sgd.restart();
  CHECK(sgd.admin("GET", "/api/server-groups/alpha/nodes/" + torn_id).status == 200);
}
