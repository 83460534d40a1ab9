#include "tests/support/sgd_cluster.hpp"

#include "tests/support/ports.hpp"
#include "tests/support/wait.hpp"

#include <catch2/catch.hpp>

#include <sstream>

namespace sg::test {

using namespace std::chrono_literals;

sgd_cluster::sgd_cluster(std::size_t n, std::string secret, std::vector<std::string> common_args)
    : secret_(std::move(secret)), common_args_(std::move(common_args)), ctl_(n) {
  for (std::size_t i = 0; i < n; ++i) {
    auto p = free_port();
    REQUIRE(p != 0);
    addresses_.push_back("127.0.0.1:" + std::to_string(p));
  }
  for (auto& a : addresses_) peer_list_ += (peer_list_.empty() ? "" : ",") + a;
}

sgd_instance& sgd_cluster::start(std::size_t i, const std::vector<std::string>& extra_args,
                                 const std::map<std::string, std::string>& env) {
  REQUIRE(i < ctl_.size());
  REQUIRE(ctl_[i] == nullptr);
  sgd_options o;
  o.log_level = "info";
  o.env = env;
  o.extra_args = {"--drain-grace",    "0",           "--threads", "1",
                  "--cluster-listen", addresses_[i], "--peers",   peer_list_,
                  "--cluster-secret", secret_};
  o.extra_args.insert(o.extra_args.end(), common_args_.begin(), common_args_.end());
  o.extra_args.insert(o.extra_args.end(), extra_args.begin(), extra_args.end());
  ctl_[i] = std::make_unique<sgd_instance>(o);
  return *ctl_[i];
}

void sgd_cluster::start_all() {
  for (std::size_t i = 0; i < ctl_.size(); ++i)
    if (!ctl_[i]) start(i);
}

rapidjson::Document cluster_status(const sgd_instance& s, std::chrono::milliseconds timeout) {
  auto r = s.admin("GET", "/api/cluster", "", {}, timeout);
  if (r.status != 200) {
    rapidjson::Document d;
    d.SetNull();
    return d;
  }
  return json(r);
}

std::string registry_digest(const sgd_instance& s, std::chrono::milliseconds timeout) {
  auto d = cluster_status(s, timeout);
  if (!d.IsObject() || !d.HasMember("registryDigest") || !d["registryDigest"].IsString())
    return "<none>";
  return d["registryDigest"].GetString();
}

std::map<std::string, std::string> peer_states(const sgd_instance& s) {
  std::map<std::string, std::string> out;
  auto d = cluster_status(s);
  if (!d.IsObject() || !d.HasMember("peers") || !d["peers"].IsArray()) return out;
  for (auto& p : d["peers"].GetArray())
    if (p.IsObject() && p.HasMember("address") && p.HasMember("state"))
      out[p["address"].GetString()] = p["state"].GetString();
  return out;
}

namespace {

std::vector<std::size_t> members_or_all(const sgd_cluster& c, const std::vector<std::size_t>& m) {
  if (!m.empty()) return m;
  std::vector<std::size_t> all;
  for (std::size_t i = 0; i < c.size(); ++i)
    if (c.started(i)) all.push_back(i);
  return all;
}

}  // namespace

bool all_connected(const sgd_cluster& c, const std::vector<std::size_t>& members) {
  auto ms = members_or_all(c, members);
  for (auto i : ms) {
    auto st = peer_states(c[i]);
    for (auto j : ms) {
      if (j == i) continue;
      auto it = st.find(c.address(j));
      if (it == st.end() || it->second != "connected") return false;
    }
  }
  return true;
}

bool wait_all_connected(const sgd_cluster& c, std::chrono::milliseconds timeout,
                        const std::vector<std::size_t>& members) {
  return wait_until([&] { return all_connected(c, members); }, timeout, 50ms);
}

bool digests_equal(const sgd_cluster& c, const std::vector<std::size_t>& members) {
  auto ms = members_or_all(c, members);
  if (ms.empty()) return false;
  auto d0 = registry_digest(c[ms[0]]);
  if (d0 == "<none>") return false;
  for (std::size_t k = 1; k < ms.size(); ++k)
    if (registry_digest(c[ms[k]]) != d0) return false;
  return true;
}

bool wait_digests_equal(const sgd_cluster& c, std::chrono::milliseconds timeout,
                        const std::vector<std::size_t>& members) {
  return wait_until([&] { return digests_equal(c, members); }, timeout, 50ms);
}

std::string describe_cluster(const sgd_cluster& c) {
  std::ostringstream out;
  for (std::size_t i = 0; i < c.size(); ++i) {
    out << "controller " << i << " (" << c.address(i) << "): ";
    if (!c.started(i)) {
      out << "not started\n";
      continue;
    }
    auto r = c[i].admin("GET", "/api/cluster", "", {}, 2s);
    out << r.status << " " << r.error << " " << r.body << "\n";
  }
  return out.str();
}

std::vector<metric_line> metric_samples(const sgd_instance& s, const std::string& name) {
  std::vector<metric_line> out;
  auto r = s.admin("GET", "/metrics", "", {}, 3s);
  if (r.status != 200) return out;
  std::istringstream in(r.body);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#' || line.rfind(name, 0) != 0) continue;
    auto rest = line.substr(name.size());
    metric_line m;
    if (!rest.empty() && rest[0] == '{') {
      auto close = rest.find('}');
      if (close == std::string::npos) continue;
      m.labels = rest.substr(0, close + 1);
      rest = rest.substr(close + 1);
    }
    if (rest.empty() || rest[0] != ' ') continue;  // a longer family name
    std::istringstream v(rest);
    if (v >> m.value) out.push_back(m);
  }
  return out;
}

std::optional<double> metric_sample(const sgd_instance& s, const std::string& name,
                                    const std::string& label_part) {
  for (auto& m : metric_samples(s, name))
    if (label_part.empty() || m.labels.find(label_part) != std::string::npos) return m.value;
  return std::nullopt;
}

}  // namespace sg::test
