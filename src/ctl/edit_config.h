// The pure part of `custosctl edit-config` / `show-config` (ctl.md §5): the YAML shown to the
// user, --set/--pg dotted-path changes (values parsed as YAML, null deletes, GUC names with dots
// kept whole under postgresql.parameters, emptied parents removed), --apply/--replace
// merge-patches from YAML text, and the unified diff (difflib.unified_diff layout) of the
// before/after YAML.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/result.h"

namespace custos::ctl {

using json = nlohmann::json;

// yaml.safe_dump(data, default_flow_style=False, allow_unicode=True, width=200): block style,
// keys sorted, ending with a newline.
std::string format_config_for_editing(const json& data);

// Applies "a.b.c=VALUE" pairs in order. Error "Invalid parameter setting <pair>" for a pair
// without '=' and for a VALUE that is not valid YAML.
Result<json, std::string> apply_config_changes(json data, const std::vector<std::string>& pairs);

// --pg K=V pairs as --set pairs: "postgresql.parameters." + the pair without leading spaces.
std::vector<std::string> pg_pairs_to_set_pairs(const std::vector<std::string>& pg_pairs);

// Merge-patches `data` with the YAML document `yaml_text` (Patroni's patch_config). `source`
// names the input in errors (a file name or "stdin"). An empty document changes nothing; a
// document that is not a mapping is an error.
Result<json, std::string> apply_yaml_text(json data, const std::string& yaml_text,
                                          const std::string& source);

// Parses what the user left in the editor (YAML). Empty text gives null.
Result<json, std::string> parse_edited_yaml(const std::string& yaml_text);

// difflib.unified_diff of the two texts split into lines (trailing newlines dropped first), with
// empty file names and 3 context lines; one string per output line, without newlines. Empty
// when the texts have the same lines.
std::vector<std::string> unified_diff(const std::string& before, const std::string& after);


}  // namespace custos::ctl
