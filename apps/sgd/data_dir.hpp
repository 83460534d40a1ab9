#pragma once
// The data directory: created if missing, checked writable, and home of the controller id that
// this controller keeps across restarts (its HLC origin).
#include <string>

namespace sg::app {

// Creates `dir` (and parents) if needed; "" or why it is unusable.
std::string prepare_data_dir(const std::string& dir);

// The id stored in dir/controller-id, created on first use; `given` (if not empty) wins and is
// stored. "" or an error.
std::string controller_id(const std::string& dir, const std::string& given, std::string& out);

}  // namespace sg::app
