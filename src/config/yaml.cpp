#include "config/yaml.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <limits>
#include <map>
#include <regex>
#include <set>
#include <sstream>

namespace custos::config {

std::string YamlError::to_string() const {
  std::ostringstream out;
  out << message;
  if (line > 0) {
    out << " (line " << line;
    if (column > 0) out << ", column " << column;
    out << ")";
  }
  return out.str();
}

namespace {

constexpr const char* kTagPrefix = "tag:yaml.org,2002:";

// PyYAML refuses characters outside its printable set; we additionally require valid UTF-8
// so that every string we hand on is valid JSON text.
std::optional<YamlError> check_characters(std::string_view text) {
  int line = 1, column = 1;
  std::size_t i = 0;
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  while (i < text.size()) {
    unsigned char c = s[i];
    std::size_t len = 1;
    uint32_t cp = c;
    if (c < 0x80) {
      if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
        return YamlError{"unacceptable character #x" + [&] {
                           char buf[8];
                           snprintf(buf, sizeof buf, "%04x", c);
                           return std::string(buf);
                         }() + ": special characters are not allowed",
                         line, column};
      }
      if (c == 0x7f) return YamlError{"unacceptable character #x007f", line, column};
    } else {
      if ((c & 0xE0) == 0xC0) {
        len = 2;
        cp = c & 0x1F;
      } else if ((c & 0xF0) == 0xE0) {
        len = 3;
        cp = c & 0x0F;
      } else if ((c & 0xF8) == 0xF0) {
        len = 4;
        cp = c & 0x07;
      } else {
        return YamlError{"invalid UTF-8 byte in input", line, column};
      }
      if (i + len > text.size()) return YamlError{"truncated UTF-8 sequence in input", line, column};
      for (std::size_t k = 1; k < len; ++k) {
        if ((s[i + k] & 0xC0) != 0x80) return YamlError{"invalid UTF-8 sequence in input", line, column};
        cp = (cp << 6) | (s[i + k] & 0x3F);
      }
      static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
      if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return YamlError{"invalid UTF-8 sequence in input", line, column};
      }
      if ((cp >= 0x80 && cp <= 0x9F && cp != 0x85) || cp == 0xFFFE || cp == 0xFFFF) {
        return YamlError{"unacceptable non-printable character in input", line, column};
      }
    }
    if (c == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
    i += len;
  }
  return std::nullopt;
}

std::string strip_underscores(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s)
    if (c != '_') out.push_back(c);
  return out;
}

// Accumulates digits in `base`; nullopt on overflow of unsigned 64 bits.
std::optional<unsigned long long> accumulate(const std::string& digits, int base) {
  unsigned long long v = 0;
  for (char c : digits) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return std::nullopt;
    if (d >= base) return std::nullopt;
    if (v > (std::numeric_limits<unsigned long long>::max() - static_cast<unsigned>(d)) / base) {
      return std::nullopt;
    }
    v = v * base + d;
  }
  return v;
}

json make_int(bool negative, std::optional<unsigned long long> magnitude, double approx) {
  if (magnitude) {
    auto m = *magnitude;
    if (!negative) {
      if (m <= static_cast<unsigned long long>(std::numeric_limits<int64_t>::max())) {
        return json(static_cast<int64_t>(m));
      }
      return json(static_cast<uint64_t>(m));
    }
    if (m <= static_cast<unsigned long long>(std::numeric_limits<int64_t>::max()) + 1ull) {
      if (m == static_cast<unsigned long long>(std::numeric_limits<int64_t>::max()) + 1ull) {
        return json(std::numeric_limits<int64_t>::min());
      }
      return json(-static_cast<int64_t>(m));
    }
  }
  // Beyond 64 bits: Python would keep an exact big integer; we keep an approximation.
  return json(negative ? -approx : approx);
}

double approx_digits(const std::string& digits, int base) {
  double v = 0;
  for (char c : digits) {
    int d = (c >= '0' && c <= '9') ? c - '0' : (std::tolower(static_cast<unsigned char>(c)) - 'a' + 10);
    v = v * base + d;
  }
  return v;
}

json resolve_int(const std::string& raw) {
  std::string s = strip_underscores(raw);
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.erase(0, 1);
  }
  if (s.find(':') != std::string::npos) {  // sexagesimal: 190:20:30
    unsigned long long v = 0;
    double approx = 0;
    bool overflow = false;
    std::stringstream parts(s);
    std::string part;
    while (std::getline(parts, part, ':')) {
      auto p = accumulate(part, 10);
      if (!p) return json(raw);
      if (v > (std::numeric_limits<unsigned long long>::max() - *p) / 60) overflow = true;
      v = v * 60 + *p;
      approx = approx * 60 + static_cast<double>(*p);
    }
    return make_int(negative, overflow ? std::nullopt : std::optional<unsigned long long>(v), approx);
  }
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.erase(0, 2);
  } else if (s.size() > 2 && s[0] == '0' && s[1] == 'b') {
    base = 2;
    s.erase(0, 2);
  } else if (s.size() > 1 && s[0] == '0') {
    base = 8;
    s.erase(0, 1);
  }
  if (s.empty()) return json(0);
  return make_int(negative, accumulate(s, base), approx_digits(s, base));
}

json resolve_float(const std::string& raw) {
  std::string s = strip_underscores(raw);
  std::string lower;
  for (char c : s) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  bool negative = !lower.empty() && lower[0] == '-';
  std::string body = (!lower.empty() && (lower[0] == '-' || lower[0] == '+')) ? lower.substr(1) : lower;
  if (body == ".inf") return json(negative ? -std::numeric_limits<double>::infinity()
                                            : std::numeric_limits<double>::infinity());
  if (body == ".nan") return json(std::numeric_limits<double>::quiet_NaN());
  if (body.find(':') != std::string::npos) {
    double v = 0;
    std::size_t dot = body.find('.');
    std::string ints = body.substr(0, dot);
    std::stringstream parts(ints);
    std::string part;
    while (std::getline(parts, part, ':')) v = v * 60 + std::strtod(part.c_str(), nullptr);
    if (dot != std::string::npos) v += std::strtod(("0" + body.substr(dot)).c_str(), nullptr);
    return json(negative ? -v : v);
  }
  return json(std::strtod(s.c_str(), nullptr));
}

// Builds JSON directly from yaml-cpp parser events. Working on events (not YAML::Node) lets us
// bound the work: yaml-cpp 0.7 never terminates on some malformed input (e.g. a lone ',' in
// block context emits null events forever), so the number of events is capped by the input size.
class JsonBuilder : public YAML::EventHandler {
 public:
  explicit JsonBuilder(std::size_t input_size) : max_events_(4 * input_size + 128) {}

  struct Failure {
    YamlError error;
  };

  json root;
  int documents = 0;

  void OnDocumentStart(const YAML::Mark& mark) override {
    tick(mark);
    ++documents;
  }
  void OnDocumentEnd() override { tick(YAML::Mark::null_mark()); }

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    tick(mark);
    if (expecting_key()) {
      top().key = "null";
      top().has_key = true;
      return;
    }
    count_nodes(mark, 1);
    complete(json(nullptr), anchor, 1, mark);
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    tick(mark);
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) fail(mark, "found undefined or recursive alias");
    if (expecting_key()) {
      if (!it->second.value.is_string() && !it->second.value.is_number() && !it->second.value.is_boolean()) {
        fail(mark, "unsupported complex mapping key (alias of a collection)");
      }
      top().key = it->second.value.is_string() ? it->second.value.get<std::string>() : it->second.value.dump();
      top().has_key = true;
      return;
    }
    count_nodes(mark, it->second.nodes);
    complete(it->second.value, 0, it->second.nodes, mark);
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    tick(mark);
    bool plain = tag == "?" || tag.empty();
    if (expecting_key()) {
      Frame& f = top();
      f.has_key = true;
      f.key_is_merge = plain && value == "<<";
      f.key = value;
      if (anchor) anchors_[anchor] = Anchored{json(value), 1};
      return;
    }
    count_nodes(mark, 1);
    complete(scalar(mark, tag, value), anchor, 1, mark);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    start_collection(mark, tag, anchor, false, "seq");
  }
  void OnSequenceEnd() override { end_collection(); }

  void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    start_collection(mark, tag, anchor, true, "map");
  }
  void OnMapEnd() override { end_collection(); }

  [[noreturn]] static void fail(const YAML::Mark& mark, const std::string& msg) {
    throw Failure{YamlError{msg, mark.is_null() ? -1 : mark.line + 1, mark.is_null() ? -1 : mark.column + 1}};
  }

 private:
  struct Frame {
    bool is_map = false;
    json value;
    json explicit_keys = json::object();
    std::vector<json> merges;
    std::string key;
    bool has_key = false;
    bool key_is_merge = false;
    YAML::anchor_t anchor = 0;
    YAML::Mark mark;
    std::size_t nodes_at_start = 0;
  };
  struct Anchored {
    json value;
    std::size_t nodes;
  };

  Frame& top() { return stack_.back(); }
  bool expecting_key() const { return !stack_.empty() && stack_.back().is_map && !stack_.back().has_key; }

  void tick(const YAML::Mark& mark) {
    if (++events_ > max_events_) fail(mark, "malformed YAML (the parser does not make progress)");
  }

  void count_nodes(const YAML::Mark& mark, std::size_t n) {
    nodes_ += n;
    if (nodes_ > kMaxYamlNodes) {
      fail(mark, "document too large (more than " + std::to_string(kMaxYamlNodes) +
                     " nodes after alias expansion)");
    }
  }

  json scalar(const YAML::Mark& mark, const std::string& tag, const std::string& text) {
    if (tag == "?" || tag.empty()) return resolve_plain_scalar(text);
    if (tag == "!") return json(text);
    if (tag.rfind(kTagPrefix, 0) == 0) {
      std::string t = tag.substr(std::string(kTagPrefix).size());
      if (t == "str") return json(text);
      json r = resolve_plain_scalar(text);
      if (t == "null" && r.is_null()) return r;
      if (t == "bool" && r.is_boolean()) return r;
      if (t == "int" && r.is_number()) return r;
      if (t == "float" && r.is_number()) return json(r.get<double>());
      if (t == "timestamp") return json(text);
      fail(mark, "cannot construct !!" + t + " from '" + text + "'");
    }
    fail(mark, "unsupported YAML tag '" + tag + "'");
  }

  void start_collection(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor, bool is_map,
                        const char* kind) {
    tick(mark);
    if (expecting_key()) fail(mark, "unsupported complex mapping key");
    if (!(tag.empty() || tag == "?" || tag == "!" || tag == std::string(kTagPrefix) + kind)) {
      fail(mark, "unsupported YAML tag '" + tag + "'");
    }
    if (static_cast<int>(stack_.size()) >= kMaxYamlDepth) {
      fail(mark, "document nested too deeply (more than " + std::to_string(kMaxYamlDepth) + " levels)");
    }
    count_nodes(mark, 1);
    Frame f;
    f.is_map = is_map;
    f.value = is_map ? json::object() : json::array();
    f.anchor = anchor;
    f.mark = mark;
    f.nodes_at_start = nodes_ - 1;
    stack_.push_back(std::move(f));
  }

  void end_collection() {
    tick(YAML::Mark::null_mark());
    if (stack_.empty()) fail(YAML::Mark::null_mark(), "unbalanced collection end");
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    if (f.is_map) {
      // Merge keys first (the first mapping of a `<<` list wins), then explicit keys on top.
      for (const json& m : f.merges) {
        if (m.is_object()) {
          for (auto it = m.begin(); it != m.end(); ++it) f.value[it.key()] = it.value();
        } else if (m.is_array()) {
          for (auto it = m.rbegin(); it != m.rend(); ++it) {
            if (!it->is_object()) fail(f.mark, "merge key '<<' expects a mapping or a list of mappings");
            for (auto jt = it->begin(); jt != it->end(); ++jt) f.value[jt.key()] = jt.value();
          }
        } else {
          fail(f.mark, "merge key '<<' expects a mapping or a list of mappings");
        }
      }
      for (auto it = f.explicit_keys.begin(); it != f.explicit_keys.end(); ++it) f.value[it.key()] = std::move(it.value());
    }
    complete(std::move(f.value), f.anchor, nodes_ - f.nodes_at_start, f.mark);
  }

  void complete(json v, YAML::anchor_t anchor, std::size_t nodes, const YAML::Mark& mark) {
    if (anchor) anchors_[anchor] = Anchored{v, nodes};
    if (stack_.empty()) {
      if (documents > 1) fail(mark, "expected a single document in the stream, found more");
      root = std::move(v);
      return;
    }
    Frame& f = top();
    if (!f.is_map) {
      f.value.push_back(std::move(v));
      return;
    }
    if (f.key_is_merge) {
      f.merges.push_back(std::move(v));
    } else {
      f.explicit_keys[f.key] = std::move(v);  // duplicate keys: the last one wins (PyYAML)
    }
    f.has_key = false;
    f.key_is_merge = false;
    f.key.clear();
  }

  std::vector<Frame> stack_;
  std::map<YAML::anchor_t, Anchored> anchors_;
  std::size_t events_ = 0;
  std::size_t max_events_;
  std::size_t nodes_ = 0;
};

}  // namespace

json resolve_plain_scalar(const std::string& text) {
  static const std::set<std::string> kTrue = {"yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"};
  static const std::set<std::string> kFalse = {"no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"};
  static const std::set<std::string> kNull = {"", "~", "null", "Null", "NULL"};
  static const std::regex kInt(
      R"(^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$)");
  static const std::regex kFloat(
      R"(^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$)");
  if (kNull.count(text)) return json(nullptr);
  if (kTrue.count(text)) return json(true);
  if (kFalse.count(text)) return json(false);
  if (text.size() > 4096) return json(text);  // no number is that long; spare the regex engine
  if (std::regex_match(text, kInt)) return resolve_int(text);
  if (std::regex_match(text, kFloat)) return resolve_float(text);
  return json(text);
}

Result<json, YamlError> parse_yaml(std::string_view text) {
  if (text.size() > kMaxYamlBytes) {
    return make_error(YamlError{"document too large (more than " + std::to_string(kMaxYamlBytes) + " bytes)"});
  }
  std::string_view body = text;
  if (body.size() >= 3 && body.substr(0, 3) == "\xEF\xBB\xBF") body.remove_prefix(3);  // BOM
  if (auto bad = check_characters(body)) return make_error(*bad);
  try {
    std::istringstream input{std::string(body)};
    YAML::Parser parser(input);
    JsonBuilder builder(body.size());
    if (!parser.HandleNextDocument(builder)) return json(nullptr);
    if (parser.HandleNextDocument(builder)) {
      return make_error(YamlError{"expected a single document in the stream, found more"});
    }
    return std::move(builder.root);
  } catch (const JsonBuilder::Failure& f) {
    return make_error(f.error);
  } catch (const YAML::Exception& e) {
    // e.msg is the bare message, e.mark the 0-based position.
    return make_error(YamlError{e.msg.empty() ? std::string(e.what()) : e.msg,
                                e.mark.is_null() ? -1 : e.mark.line + 1,
                                e.mark.is_null() ? -1 : e.mark.column + 1});
  } catch (const std::exception& e) {
    return make_error(YamlError{std::string("YAML error: ") + e.what()});
  }
}

}  // namespace custos::config
