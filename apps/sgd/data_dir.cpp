#include "apps/sgd/data_dir.hpp"

#include "actors/specs.hpp"
#include "cluster/files.hpp"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

namespace sg::app {

namespace fs = std::filesystem;

std::string prepare_data_dir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return "data dir '" + dir + "' cannot be created: " + ec.message();
  if (!fs::is_directory(dir, ec)) return "data dir '" + dir + "' is not a directory";
  if (::access(dir.c_str(), W_OK | X_OK) != 0) return "data dir '" + dir + "' is not writable";
  return {};
}

std::string controller_id(const std::string& dir, const std::string& given, std::string& out) {
  auto path = dir + "/controller-id";
  if (!given.empty()) {
    if (!valid_name(given)) return "--controller-id must match [A-Za-z0-9._-]{1,128}";
    out = given;
    return write_file_atomic(path, given + "\n");
  }
  std::ifstream in(path);
  if (in && std::getline(in, out) && valid_name(out)) return {};
  char host[64] = "sgd";
  ::gethostname(host, sizeof host - 1);
  std::string h;
  for (char* p = host; *p; ++p) h += valid_name(std::string(1, *p)) ? *p : '-';
  std::random_device rd;
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, "%06x", rd() & 0xFFFFFF);
  out = h.substr(0, 100) + "-" + suffix;
  return write_file_atomic(path, out + "\n");
}

}  // namespace sg::app
