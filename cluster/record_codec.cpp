#include "cluster/record_codec.hpp"

#include "actors/spec_json.hpp"

#include <rapidjson/error/en.h>

namespace sg {

namespace {

template <class Spec, class WriteSpec>
std::string encode_record(const char* type, const Spec& spec, const stamp& st, bool deleted,
                          WriteSpec write_spec) {
  rapidjson::StringBuffer buf;
  json::writer w(buf);
  w.StartObject();
  w.Key("type"), w.String(type);
  w.Key("hlc"), w.Uint64(st.hlc);
  w.Key("origin"), w.String(st.origin.c_str(), static_cast<rapidjson::SizeType>(st.origin.size()));
  w.Key("deleted"), w.Bool(deleted);
  w.Key("spec");
  write_spec(w, spec);
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace

std::string encode(const group_record& r) {
  return encode_record("group", r.spec, r.st, r.deleted,
                       [](json::writer& w, const group_spec& g) { json::write(w, g); });
}

std::string encode(const node_record& r) {
  return encode_record("node", r.spec, r.st, r.deleted, [](json::writer& w, const node_spec& n) {
    w.StartObject();
    json::write_members(w, n);
    w.EndObject();
  });
}

std::string decode(std::string_view payload, any_record& out) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(payload.data(), payload.size());
  if (doc.HasParseError())
    return std::string("bad JSON: ") + rapidjson::GetParseError_En(doc.GetParseError());
  if (!doc.IsObject()) return "record is not an object";
  auto type = doc.FindMember("type");
  auto hlc = doc.FindMember("hlc");
  auto origin = doc.FindMember("origin");
  auto deleted = doc.FindMember("deleted");
  auto spec = doc.FindMember("spec");
  if (type == doc.MemberEnd() || !type->value.IsString() || hlc == doc.MemberEnd() ||
      !hlc->value.IsUint64() || origin == doc.MemberEnd() || !origin->value.IsString() ||
      deleted == doc.MemberEnd() || !deleted->value.IsBool() || spec == doc.MemberEnd())
    return "record lacks type, hlc, origin, deleted or spec";
  stamp st{hlc->value.GetUint64(), origin->value.GetString()};
  std::string_view t = type->value.GetString();
  uint32_t set = 0;
  if (t == "group") {
    group_record r{{}, st, deleted->value.GetBool()};
    if (auto err = json::read_group(spec->value, r.spec, set); !err.empty()) return err;
    if (!(set & json::gf_name)) return "group record without a name";
    out = std::move(r);
    return {};
  }
  if (t == "node") {
    node_record r{{}, st, deleted->value.GetBool()};
    if (auto err = json::read_node(spec->value, r.spec, set, json::nf_all); !err.empty())
      return err;
    if (!(set & json::nf_node_id) || !(set & json::nf_group))
      return "node record without id or group";
    out = std::move(r);
    return {};
  }
  return "unknown record type";
}

}  // namespace sg
