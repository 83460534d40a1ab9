#include "apps/sgctl/table.hpp"

#include <algorithm>

namespace sg::sgctl {

void table::print(std::ostream& out) const {
  std::vector<std::size_t> width(header_.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (std::size_t i = 0; i < row.size() && i < width.size(); ++i)
      width[i] = std::max(width[i], row[i].size());
  };
  measure(header_);
  for (const auto& r : rows_) measure(r);
  auto line = [&](const std::vector<std::string>& row) {
    std::string s;
    for (std::size_t i = 0; i < width.size(); ++i) {
      const std::string cell = i < row.size() ? row[i] : std::string();
      s += cell;
      if (i + 1 < width.size()) s += std::string(width[i] - cell.size() + 2, ' ');
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    out << s << '\n';
  };
  line(header_);
  for (const auto& r : rows_) line(r);
}

void print_pairs(std::ostream& out, const std::vector<std::pair<std::string, std::string>>& kv) {
  std::size_t w = 0;
  for (const auto& [k, v] : kv) w = std::max(w, k.size());
  for (const auto& [k, v] : kv) {
    std::string s = k + std::string(w - k.size() + 2, ' ') + v;
    while (!s.empty() && s.back() == ' ') s.pop_back();
    out << s << '\n';
  }
}

std::string text(const rapidjson::Value& v) {
  if (v.IsString())
    return v.GetStringLength() ? std::string(v.GetString(), v.GetStringLength()) : "-";
  if (v.IsBool()) return v.GetBool() ? "true" : "false";
  if (v.IsNull()) return "-";
  if (v.IsInt64()) return std::to_string(v.GetInt64());
  if (v.IsUint64()) return std::to_string(v.GetUint64());
  if (v.IsNumber()) {
    std::string s = std::to_string(v.GetDouble());
    while (s.find('.') != std::string::npos && (s.back() == '0' || s.back() == '.')) {
      bool dot = s.back() == '.';
      s.pop_back();
      if (dot) break;
    }
    return s;
  }
  std::string out;
  if (v.IsObject()) {
    for (auto m = v.MemberBegin(); m != v.MemberEnd(); ++m) {
      if (!out.empty()) out += ',';
      out += std::string(m->name.GetString(), m->name.GetStringLength()) + "=" + text(m->value);
    }
    return out.empty() ? "-" : out;
  }
  for (const auto& e : v.GetArray()) {
    if (!out.empty()) out += ", ";
    out += text(e);
  }
  return out.empty() ? "-" : out;
}

const rapidjson::Value* member(const rapidjson::Value& obj, const char* key) {
  if (!obj.IsObject()) return nullptr;
  auto it = obj.FindMember(key);
  return it == obj.MemberEnd() ? nullptr : &it->value;
}

std::string text(const rapidjson::Value& obj, const char* key) {
  auto* m = member(obj, key);
  return m ? text(*m) : "-";
}

namespace {

bool is_object_array(const rapidjson::Value& v) {
  if (!v.IsArray() || v.Empty()) return false;
  for (const auto& e : v.GetArray())
    if (!e.IsObject()) return false;
  return true;
}

void flatten(const rapidjson::Value& v, const std::string& prefix,
             std::vector<std::pair<std::string, std::string>>& kv,
             std::vector<std::pair<std::string, const rapidjson::Value*>>& arrays) {
  for (auto m = v.MemberBegin(); m != v.MemberEnd(); ++m) {
    std::string key = prefix + std::string(m->name.GetString(), m->name.GetStringLength());
    if (m->value.IsObject() && !m->value.ObjectEmpty())
      flatten(m->value, key + ".", kv, arrays);
    else if (is_object_array(m->value))
      arrays.emplace_back(key, &m->value);
    else
      kv.emplace_back(key, text(m->value));
  }
}

}  // namespace

void print_generic(std::ostream& out, const rapidjson::Value& v) {
  if (!v.IsObject()) {
    out << text(v) << '\n';
    return;
  }
  std::vector<std::pair<std::string, std::string>> kv;
  std::vector<std::pair<std::string, const rapidjson::Value*>> arrays;
  flatten(v, "", kv, arrays);
  print_pairs(out, kv);
  for (const auto& [name, arr] : arrays) {
    std::vector<std::string> cols;
    for (const auto& e : arr->GetArray())
      for (auto m = e.MemberBegin(); m != e.MemberEnd(); ++m) {
        std::string k(m->name.GetString(), m->name.GetStringLength());
        if (std::find(cols.begin(), cols.end(), k) == cols.end()) cols.push_back(k);
      }
    out << '\n' << name << ":\n";
    table t(cols);
    for (const auto& e : arr->GetArray()) {
      std::vector<std::string> row;
      for (const auto& c : cols) row.push_back(text(e, c.c_str()));
      t.add(std::move(row));
    }
    t.print(out);
  }
}

}  // namespace sg::sgctl
