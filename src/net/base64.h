// Standard-alphabet base64 (RFC 4648 §4, with padding), for etcd's JSON gateway and basic auth.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace custos::net {

std::string base64_encode(std::string_view data);
// nullopt when `text` is not valid padded (or unpadded) standard base64.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace custos::net
