#include "common/presentation.h"

#include "common/version.h"

namespace custos {

std::optional<PatroniGeneration> parse_patroni_generation(const nlohmann::json& value) {
  std::string text;
  if (value.is_string()) {
    text = value.get<std::string>();
  } else if (value.is_number_integer()) {
    text = std::to_string(value.get<int64_t>());
  } else if (value.is_number_float()) {
    const double d = value.get<double>();
    if (d == 3.3) text = "3.3";
    else if (d == 4.1) text = "4.1";
    else if (d == 3.0 || d == 4.0) text = d == 3.0 ? "3" : "4";
  }
  if (text == "3.3" || text == "3") return PatroniGeneration::v3_3;
  if (text == "4.1" || text == "4") return PatroniGeneration::v4_1;
  return std::nullopt;
}

PatroniGeneration presentation_of_config(const nlohmann::json& config) {
  if (!config.is_object()) return kDefaultPatroniGeneration;
  auto section = config.find("custos");
  if (section == config.end() || !section->is_object()) return kDefaultPatroniGeneration;
  auto it = section->find("compat");
  if (it == section->end() || it->is_null()) return kDefaultPatroniGeneration;
  return parse_patroni_generation(*it).value_or(kDefaultPatroniGeneration);
}

std::optional<std::string> unaccepted_compat_warning(const nlohmann::json& config) {
  if (!config.is_object()) return std::nullopt;
  auto section = config.find("custos");
  if (section == config.end() || !section->is_object()) return std::nullopt;
  auto it = section->find("compat");
  if (it == section->end() || it->is_null() || parse_patroni_generation(*it)) return std::nullopt;
  return "custos.compat must be \"3.3\" or \"4.1\", got " + it->dump() + ": presenting Patroni " +
         std::string(generation_name(kDefaultPatroniGeneration));
}

std::string_view generation_name(PatroniGeneration generation) noexcept {
  return generation == PatroniGeneration::v3_3 ? "3.3" : "4.1";
}

std::string_view primary_role_name(PatroniGeneration generation) noexcept {
  return generation == PatroniGeneration::v3_3 ? "master" : "primary";
}

std::string_view announced_patroni_version(PatroniGeneration generation) noexcept {
  return generation == PatroniGeneration::v3_3 ? kPatroniCompatVersion : kPatroni4CompatVersion;
}

bool is_primary_role_name(std::string_view role) noexcept { return role == "master" || role == "primary"; }

}  // namespace custos
