#include "cluster/files.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>

namespace sg {

std::string write_file_atomic(const std::string& path, const std::string& content) {
  auto tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << content;
    out.flush();
    if (!out) return "cannot write " + tmp;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return "cannot rename " + tmp + ": " + ec.message();
  return {};
}

std::string read_small_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return {};
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace sg
