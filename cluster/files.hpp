#pragma once
// Small files in the data dir that are replaced whole (controller id, last cluster contact).
#include <string>

namespace sg {

// Writes `content` to `path` atomically (temp file + rename). "" or an error.
std::string write_file_atomic(const std::string& path, const std::string& content);
// The file's contents, or "" when it does not exist or cannot be read.
std::string read_small_file(const std::string& path);

}  // namespace sg
