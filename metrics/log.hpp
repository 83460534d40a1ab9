#pragma once
// Structured logging: one JSON object per line on stderr. Debian's CAF has its own logging
// compiled out, so every part of sgd logs through this.
//   sg::log::warn("journal tail dropped", {{"file", path}, {"offset", std::to_string(off)}});
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace sg::log {

enum class level { debug = 0, info = 1, warn = 2, error = 3, off = 4 };

using field = std::pair<std::string_view, std::string_view>;

// Parses "debug|info|warn|error|off"; false for anything else.
bool parse_level(std::string_view text, level& out);
void set_level(level lv);
bool enabled(level lv);

// Writes {"ts":..,"level":..,"msg":..,<fields>} atomically (one write per line).
void write(level lv, std::string_view msg, std::initializer_list<field> fields = {});

inline void debug(std::string_view m, std::initializer_list<field> f = {}) {
  write(level::debug, m, f);
}
inline void info(std::string_view m, std::initializer_list<field> f = {}) {
  write(level::info, m, f);
}
inline void warn(std::string_view m, std::initializer_list<field> f = {}) {
  write(level::warn, m, f);
}
inline void error(std::string_view m, std::initializer_list<field> f = {}) {
  write(level::error, m, f);
}

// Appends `text` to `out` as the inside of a JSON string (quotes not included).
void append_json_escaped(std::string& out, std::string_view text);

}  // namespace sg::log
