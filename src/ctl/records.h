// The JSON/YAML renderings custosctl prints (config/records.h).
#pragma once

#include "config/records.h"

namespace custos::ctl {

using config::ordered_json;
using config::python_json_dumps;
using config::to_ordered;
using config::to_plain;
using config::yaml_dump;
using config::yaml_needs_quotes;

}  // namespace custos::ctl
