#pragma once
// sgd's command line and config file. Every flag can also be a `key = value` line in the file
// given by --config (same names without the dashes); flags win over the file.
#include <string>
#include <vector>

namespace sg::app {

struct options {
  std::string listen = "127.0.0.1:8080";
  std::string admin = "127.0.0.1:7070";
  std::string data_dir = "sgd-data";
  std::string config;
  std::string controller_id;  // empty: read from (or created in) the data dir
  int threads = 0;            // 0: one per core
  std::string admin_token;
  std::string log_level = "info";
  bool insecure_admin = false;
  std::string upstream_ca;  // extra CA file for https nodes
  std::string alert_webhook;
  std::string cluster_listen;  // HOST:PORT for peers; "" runs alone
  std::string peers;           // HOST:PORT,... (may include this controller)
  std::string cluster_secret;  // shared by the cluster's controllers (env SGD_CLUSTER_SECRET)
  int tombstone_ttl_s = 86400;
  int max_clock_offset_ms = 500;
  int client_header_timeout_s = 30;  // a request header must arrive within this (slowloris)
  int max_header_bytes = 64 * 1024;  // per header, each direction
  int max_connections = 0;           // proxy client connections; 0: from the fd limit
  int drain_grace_s = 10;            // SIGTERM: ping answers 418 this long before listeners close
  int drain_timeout_s = 300;         // then in-flight requests get this long to finish
  bool metrics = true;               // --metrics off: no /metrics, no per-request metric updates
  std::string ready_file;            // written with the bound addresses once serving
  bool help = false;
  bool version = false;
};

// "" on success, else one line naming the bad flag or value.
std::string parse(int argc, char** argv, options& out);
std::string help_text();

}  // namespace sg::app
