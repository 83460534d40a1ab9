// sgctl's output helpers: aligned text tables and key/value lists, and JSON values as short
// text for them.
#pragma once

#include <rapidjson/document.h>

#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace sg::sgctl {

// Columns separated by two spaces, each as wide as its widest cell; no trailing blanks.
class table {
 public:
  explicit table(std::vector<std::string> header) : header_(std::move(header)) {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.empty(); }
  void print(std::ostream& out) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// "key   value" lines with the values aligned.
void print_pairs(std::ostream& out, const std::vector<std::pair<std::string, std::string>>& kv);

// A JSON value as one short text: strings as is, numbers, true/false, null as "-", objects as
// "k=v,k=v", arrays as "a, b".
std::string text(const rapidjson::Value& v);
// text() of member `key`, "-" when absent.
std::string text(const rapidjson::Value& obj, const char* key);
// The member, or nullptr.
const rapidjson::Value* member(const rapidjson::Value& obj, const char* key);

// Any JSON object: its scalars (nested objects flattened as a.b) as aligned pairs, then each
// array of objects as a table.
void print_generic(std::ostream& out, const rapidjson::Value& v);

}  // namespace sg::sgctl
