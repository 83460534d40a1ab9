#include "tests/support/admin_helpers.hpp"

#include <catch2/catch.hpp>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

namespace sg::test {

sgd_options quick_sgd() {
  sgd_options o;
  o.extra_args = {"--drain-grace", "0"};
  return o;
}

std::string proxy_url(const sgd_instance& s) {
  return "http://127.0.0.1:" + std::to_string(s.proxy_port());
}

void put_group(const sgd_instance& s, const std::string& g, const std::string& body) {
  auto r = s.admin("PUT", "/api/server-groups/" + g, body);
  INFO("PUT group " << g << ": " << r.status << " " << r.body << r.error);
  REQUIRE((r.status == 200 || r.status == 201));
}

void put_group_fields(const sgd_instance& s, const std::string& g, const std::string& fields) {
  put_group(s, g, "{" + fields + "}");
}

std::string registration_body(const std::string& name, const std::string& base_url,
                              const std::string& extra) {
  return "{\"name\":\"" + name + "\",\"baseUrl\":\"" + base_url + "\"" +
         (extra.empty() ? "" : "," + extra) + "}";
}

std::string node_fields(int weight, const std::string& metadata) {
  return "\"weight\":" + std::to_string(weight) + ",\"metadata\":" + metadata;
}

registered_node register_node(const sgd_instance& s, const std::string& g, const std::string& name,
                              const std::string& base_url, const std::string& extra) {
  auto r = s.admin("POST", "/api/server-groups/" + g + "/nodes",
                   registration_body(name, base_url, extra));
  INFO("register " << name << ": " << r.status << " " << r.body << r.error);
  REQUIRE(r.status == 201);
  auto d = json(r);
  REQUIRE(d.IsObject());
  REQUIRE(d.HasMember("nodeId"));
  REQUIRE(d.HasMember("status"));
  return {d["nodeId"].GetString(), d["status"].GetString()};
}

registered_node register_node(const sgd_instance& s, const std::string& g,
                              const test_node_process& n, const std::string& extra) {
  return register_node(s, g, n.name(), n.base_url(), extra);
}

std::string add_node(const sgd_instance& s, const std::string& g, const test_node_process& n,
                     const std::string& want_status, const std::string& extra) {
  return add_node_at(s, g, n.name(), n.base_url(), extra, want_status);
}

std::string add_node_at(const sgd_instance& s, const std::string& g, const std::string& name,
                        const std::string& base_url, const std::string& extra,
                        const std::string& want_status) {
  auto reg = register_node(s, g, name, base_url, extra);
  INFO("register " << name);
  REQUIRE(reg.status == want_status);
  return reg.id;
}

std::string served_by(const http_result& r) {
  INFO(r.status << " " << r.error << " " << r.body);
  REQUIRE(r.status == 200);
  auto n = r.header("X-Node");
  REQUIRE(!n.empty());
  return n;
}

std::string str_field(const rapidjson::Value& v, const char* key) {
  if (!v.IsObject()) return {};
  auto it = v.FindMember(key);
  return it != v.MemberEnd() && it->value.IsString() ? it->value.GetString() : std::string{};
}

bool has_field(const rapidjson::Value& v, const char* key) {
  return v.IsObject() && v.HasMember(key);
}

std::string to_text(const rapidjson::Value& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  return std::string(buf.GetString(), buf.GetSize());
}

std::string canon(const rapidjson::Value& v, const std::string& array_sep) {
  static const std::set<std::string> runtime = {"status", "consecutiveFailures", "inFlight",
                                                "requests", "lastCheck", "nodeCounts"};
  if (v.IsObject()) {
    std::map<std::string, std::string> m;
    for (auto& e : v.GetObject()) {
      std::string k(e.name.GetString(), e.name.GetStringLength());
      if (!runtime.count(k)) m[k] = canon(e.value, array_sep);
    }
    std::string out = "{";
    for (auto& [k, s] : m) out += "\"" + k + "\":" + s + ",";
    return out + "}";
  }
  if (v.IsArray()) {
    std::vector<std::string> parts;
    for (auto& e : v.GetArray()) parts.push_back(canon(e, array_sep));
    std::sort(parts.begin(), parts.end());
    std::string out = "[";
    for (auto& p : parts) out += p + array_sep;
    return out + "]";
  }
  return to_text(v);
}

std::string error_problem(const http_result& r, int status, const std::string& needle) {
  if (!r.ok()) return "transport error: " + r.error;
  if (r.status != status)
    return "status " + std::to_string(r.status) + " (want " + std::to_string(status) + "): " + r.body;
  auto d = json(r);
  if (d.HasParseError() || !d.IsObject() || !d.HasMember("error") || !d["error"].IsObject())
    return "no error object: " + r.body;
  auto& e = d["error"];
  if (!e.HasMember("code") || !e["code"].IsString() || e["code"].GetStringLength() == 0)
    return "no error.code: " + r.body;
  if (!e.HasMember("message") || !e["message"].IsString()) return "no error.message: " + r.body;
  std::string msg = e["message"].GetString();
  if (!needle.empty() && msg.find(needle) == std::string::npos)
    return "message does not name '" + needle + "': " + msg;
  return "";
}

std::vector<std::string> lines_of(const std::string& text, bool keep_empty) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < text.size()) {
    auto j = text.find('\n', i);
    if (j == std::string::npos) j = text.size();
    if (keep_empty || j > i) out.push_back(text.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  REQUIRE(out.good());
}

temp_dir::temp_dir(const std::string& prefix) : path(make_temp_dir(prefix)) {}

temp_dir::~temp_dir() {
  std::error_code ec;
  if (!path.empty()) std::filesystem::remove_all(path, ec);
}

}  // namespace sg::test
