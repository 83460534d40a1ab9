#pragma once
// Journal payloads: one JSON object per record, {"type":"group"|"node","hlc":..,"origin":..,
// "deleted":..,"spec":{...}} with the spec in the admin API's own JSON form.
#include "cluster/records.hpp"

#include <string>
#include <string_view>
#include <variant>

namespace sg {

std::string encode(const group_record& r);
std::string encode(const node_record& r);

using any_record = std::variant<group_record, node_record>;
// "" and `out` set, or an error naming what is wrong with the payload.
std::string decode(std::string_view payload, any_record& out);

}  // namespace sg
