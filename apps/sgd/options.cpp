#include "apps/sgd/options.hpp"

#include <charconv>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

namespace sg::app {

namespace {

struct flag {
  const char* name;
  const char* arg;  // nullptr: a switch
  const char* help;
};

const flag flags[] = {
    {"listen", "HOST:PORT", "proxy listener for /groups/{group}/... (default 127.0.0.1:8080)"},
    {"admin", "HOST:PORT", "admin API, ping and /metrics listener (default 127.0.0.1:7070)"},
    {"data-dir", "DIR", "where the registry journal lives (default ./sgd-data, created)"},
    {"config", "FILE", "read flags from FILE: one 'name = value' per line, # comments"},
    {"controller-id", "ID", "this controller's id (default: generated once, kept in DIR)"},
    {"threads", "N", "I/O threads (default: one per core)"},
    {"admin-token", "TOKEN", "require 'Authorization: Bearer TOKEN' on /api (env SGD_ADMIN_TOKEN)"},
    {"log-level", "LEVEL", "debug, info, warn, error or off (default info)"},
    {"insecure-admin", nullptr, "allow a non-loopback admin address without an admin token"},
    {"cluster-listen", "HOST:PORT", "accept peer controllers here (CAF middleman)"},
    {"peers", "LIST", "peer controllers' HOST:PORT,... (this controller's own entry is ignored)"},
    {"cluster-secret", "SECRET", "shared by all controllers of a cluster (env SGD_CLUSTER_SECRET)"},
    {"tombstone-ttl", "SECONDS",
     "keep deletes this long for peers that were away; a controller away longer rebases on a full "
     "state transfer (default 86400)"},
    {"max-clock-offset", "MS",
     "bound on clock offsets between controllers: stamps further ahead are not adopted, and a "
     "controller off from most of its peers by more refuses writes (default 500)"},
    {"alert-webhook", "URL", "POST every node event (JSON) to URL; 3 tries, never blocks routing"},
    {"client-header-timeout", "SECONDS",
     "close a client connection whose request header takes longer, or that idles between "
     "requests longer (default 30)"},
    {"max-header-bytes", "BYTES",
     "largest request or answer header the proxy relays, start line included (default 65536; "
     "larger requests get 431, larger answers 502)"},
    {"max-connections", "N",
     "proxy client connections at once; more get 503 (default: what the fd limit allows, "
     "keeping a reserve for the admin API, the nodes and the journal)"},
    {"drain-grace", "SECONDS",
     "on SIGTERM: ping answers 418 this long before closing (default 10)"},
    {"drain-timeout", "SECONDS",
     "then wait this long at most for in-flight requests (default 300)"},
    {"upstream-ca", "FILE", "trust this CA (PEM) for https nodes, besides the system CAs"},
    {"metrics", "on|off", "serve /metrics and count per request (default on; off for comparison)"},
    {"ready-file", "FILE", "write {\"admin\":..,\"proxy\":..} to FILE once listening"},
    {"help", nullptr, "show this help"},
    {"version", nullptr, "print the version"},
};

const flag* find_flag(const std::string& name) {
  for (auto& f : flags)
    if (name == f.name) return &f;
  return nullptr;
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::string read_int(const std::string& name, const std::string& value, int lo, int hi, int& out) {
  int v = 0;
  auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc{} || p != value.data() + value.size() || v < lo || v > hi)
    return "--" + name + " must be an integer from " + std::to_string(lo) + " to " +
           std::to_string(hi) + ", got '" + value + "'";
  out = v;
  return {};
}

std::string apply(const std::string& name, const std::string& value, options& o) {
  if (name == "listen")
    o.listen = value;
  else if (name == "admin")
    o.admin = value;
  else if (name == "data-dir")
    o.data_dir = value;
  else if (name == "config")
    o.config = value;
  else if (name == "controller-id")
    o.controller_id = value;
  else if (name == "admin-token")
    o.admin_token = value;
  else if (name == "log-level")
    o.log_level = value;
  else if (name == "ready-file")
    o.ready_file = value;
  else if (name == "upstream-ca")
    o.upstream_ca = value;
  else if (name == "insecure-admin")
    o.insecure_admin = value != "false" && value != "0";
  else if (name == "help")
    o.help = true;
  else if (name == "version")
    o.version = true;
  else if (name == "alert-webhook")
    o.alert_webhook = value;
  else if (name == "metrics") {
    if (value != "on" && value != "off")
      return "--metrics must be 'on' or 'off', got '" + value + "'";
    o.metrics = value == "on";
  } else if (name == "cluster-listen")
    o.cluster_listen = value;
  else if (name == "peers")
    o.peers = value;
  else if (name == "cluster-secret")
    o.cluster_secret = value;
  else if (name == "tombstone-ttl")
    return read_int(name, value, 1, 365 * 86400, o.tombstone_ttl_s);
  else if (name == "max-clock-offset")
    return read_int(name, value, 1, 3600 * 1000, o.max_clock_offset_ms);
  else if (name == "threads")
    return read_int(name, value, 1, 256, o.threads);
  else if (name == "client-header-timeout")
    return read_int(name, value, 1, 3600, o.client_header_timeout_s);
  else if (name == "max-header-bytes")
    return read_int(name, value, 1024, 1 << 24, o.max_header_bytes);
  else if (name == "max-connections")
    return read_int(name, value, 1, 1 << 24, o.max_connections);
  else if (name == "drain-grace")
    return read_int(name, value, 0, 3600, o.drain_grace_s);
  else if (name == "drain-timeout")
    return read_int(name, value, 0, 86400, o.drain_timeout_s);
  return {};
}

std::string read_config(const std::string& path, std::map<std::string, std::string>& out) {
  std::ifstream in(path);
  if (!in) return "cannot read config file '" + path + "'";
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    auto t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    auto eq = t.find('=');
    auto key = trim(eq == std::string::npos ? t : t.substr(0, eq));
    auto value = eq == std::string::npos ? std::string("true") : trim(t.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
      value = value.substr(1, value.size() - 2);
    auto* f = find_flag(key);
    if (!f || key == "config" || key == "help" || key == "version")
      return path + ":" + std::to_string(n) + ": unknown setting '" + key + "'";
    out[key] = value;
  }
  return {};
}

}  // namespace

std::string parse(int argc, char** argv, options& out) {
  std::map<std::string, std::string> cli;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0) return "unexpected argument '" + a + "' (see --help)";
    a = a.substr(2);
    std::string value;
    bool has_value = false;
    if (auto eq = a.find('='); eq != std::string::npos) {
      value = a.substr(eq + 1);
      a = a.substr(0, eq);
      has_value = true;
    }
    auto* f = find_flag(a);
    if (!f) return "unknown flag --" + a + " (see --help)";
    if (f->arg && !has_value) {
      if (i + 1 >= argc) return "flag --" + a + " needs a value: --" + a + " " + f->arg;
      value = argv[++i];
    } else if (!f->arg && !has_value) {
      value = "true";
    }
    cli[a] = value;
  }
  if (auto c = cli.find("config"); c != cli.end()) {
    std::map<std::string, std::string> file;
    if (auto err = read_config(c->second, file); !err.empty()) return err;
    for (auto& [k, v] : file)
      if (auto err = apply(k, v, out); !err.empty()) return err;
  }
  if (const char* env = std::getenv("SGD_ADMIN_TOKEN"); env && *env && !cli.count("admin-token"))
    out.admin_token = env;
  if (const char* env = std::getenv("SGD_CLUSTER_SECRET");
      env && *env && !cli.count("cluster-secret"))
    out.cluster_secret = env;
  for (auto& [k, v] : cli)
    if (auto err = apply(k, v, out); !err.empty()) return err;
  return {};
}

std::string help_text() {
  std::ostringstream os;
  os << "sgd " << SGD_VERSION << " - server-group controller\n\n"
     << "Usage: sgd [flags]\n\n"
     << "Callers reach a group at http://LISTEN/groups/{group}/{endpoint...}; nodes register at\n"
     << "POST http://ADMIN/api/server-groups/{group}/nodes. Exit codes: 0 clean stop, 2 bad\n"
     << "flags, config or data dir, or an address that cannot be bound.\n\nFlags:\n";
  for (auto& f : flags) {
    std::string left = std::string("  --") + f.name + (f.arg ? std::string(" ") + f.arg : "");
    if (left.size() < 28)
      left.resize(28, ' ');
    else
      left += "  ";
    os << left << f.help << "\n";
  }
  return os.str();
}

}  // namespace sg::app
