#include "runtime/grammar/json_schema_grammar.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>
#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

#include "runtime/core/error.h"
#include "runtime/grammar/gbnf.h"

namespace genrt::grammar {

namespace {

// Ordered: properties are written in the order the schema lists them.
using json = nlohmann::ordered_json;

// JSON's own rules, in the grammar once whichever schema uses them. Blanks between tokens
// are bounded: enough for pretty-printed output, too few to spend a budget on. Exponents
// have at most two digits, so that every number written is a finite double.
constexpr std::string_view kJsonRules = R"(ws ::= [ \t\n]{0,20}
string ::= "\"" string-char* "\""
string-char ::= [^"\\\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4})
integer-digits ::= "0" | [1-9] [0-9]*
integer ::= "-"? integer-digits
number ::= "-"? integer-digits ("." [0-9]+)? ([eE] [-+]? [0-9]{1,2})?
boolean ::= "true" | "false"
null ::= "null"
value ::= object | array | string | number | boolean | null
object ::= "{" ws (member ("," ws member)*)? "}"
member ::= string ws ":" ws value ws
array ::= "[" ws (value ws ("," ws value ws)*)? "]"
)";

// Keywords that describe and constrain nothing.
constexpr std::array<std::string_view, 12> kAnnotations = {"title",      "description", "default",  "examples",
                                                           "$schema",    "$id",         "$comment", "deprecated",
                                                           "readOnly",   "writeOnly",   "$defs",    "definitions"};
constexpr std::array<std::string_view, 14> kSupported = {
    "type",     "properties", "required",  "additionalProperties", "items", "minItems", "maxItems",
    "minLength", "maxLength", "enum",      "const",                "anyOf", "allOf",    "$ref"};
constexpr int kMaxDepth = 64;

bool is_annotation(std::string_view key) {
  return std::find(kAnnotations.begin(), kAnnotations.end(), key) != kAnnotations.end();
}

}  // namespace

std::string gbnf_literal(std::string_view bytes) {
  std::string out = "\"";
  for (const char c : bytes) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\x{:02X}", static_cast<unsigned>(c));
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

namespace {

// The compact JSON text of `v` as a literal.
std::string json_literal(const json& v) { return gbnf_literal(v.dump()); }

class SchemaCompiler {
 public:
  // Rule names start with `prefix`, so that several schemas share a grammar.
  SchemaCompiler(const json& root, std::string prefix) : root_(root), prefix_(std::move(prefix)) {}

  // `rule ::= ` the schema's values, and the rules they use (not JSON's own, kJsonRules).
  std::string rules(std::string_view rule) {
    const std::string value = compile(root_, "#", "root-value", 0);
    std::string out = fmt::format("{} ::= {}\n", rule, value);
    for (const auto& [name, body] : rules_) out += fmt::format("{} ::= {}\n", name, body);
    return out;
  }

 private:
  template <class... Args>
  [[noreturn]] static void error(const std::string& path, fmt::format_string<Args...> format, Args&&... args) {
    fail("JSON schema at {}: {}", path, fmt::format(format, std::forward<Args>(args)...));
  }

  // A fresh rule name from a hint (property names may hold anything).
  std::string rule_name(std::string_view hint) {
    std::string name;
    for (const char c : hint) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
      name += ok ? c : '-';
    }
    if (name.size() > 48) name.resize(48);
    return fmt::format("{}s{}-{}", prefix_, ++rule_count_, name);
  }

  std::string define(std::string_view hint, std::string body) {
    std::string name = rule_name(hint);
    rules_.emplace(name, std::move(body));
    return name;
  }

  static int64_t count(const json& schema, const char* key, int64_t fallback, const std::string& path) {
    const auto it = schema.find(key);
    if (it == schema.end()) return fallback;
    if (!it->is_number_integer() || it->get<int64_t>() < 0) error(path, "'{}' must be a non-negative integer", key);
    if (it->get<int64_t>() > kMaxRepetition) error(path, "'{}' of {} is over {}", key, it->get<int64_t>(), kMaxRepetition);
    return it->get<int64_t>();
  }

  // `item` repeated min..max times (max -1: unbounded), as a GBNF expression.
  static std::string repeated(const std::string& item, int64_t min, int64_t max) {
    if (max < 0) return fmt::format("({}){{{},}}", item, min);
    return fmt::format("({}){{{},{}}}", item, min, max);
  }

  std::string compile(const json& schema, const std::string& path, const std::string& hint, int depth) {
    if (depth > kMaxDepth) error(path, "nests deeper than {} schemas", kMaxDepth);
    if (schema.is_boolean()) {
      if (!schema.get<bool>()) error(path, "the schema false accepts no value");
      return "value";
    }
    if (!schema.is_object()) error(path, "a schema must be an object or a boolean, got {}", schema.dump());
    for (const auto& item : schema.items()) {
      const std::string& key = item.key();
      if (is_annotation(key)) continue;
      if (std::find(kSupported.begin(), kSupported.end(), key) == kSupported.end()) {
        error(path, "'{}' is not supported (supported: {} and the annotations {})", key, fmt::join(kSupported, ", "),
              fmt::join(kAnnotations, ", "));
      }
    }
    const auto constraining_siblings = [&](const char* keyword) {
      for (const auto& item : schema.items()) {
        if (item.key() != keyword && !is_annotation(item.key())) {
          error(path, "'{}' beside '{}' is not supported: put it inside each alternative", item.key(), keyword);
        }
      }
    };
    if (const auto it = schema.find("$ref"); it != schema.end()) {
      constraining_siblings("$ref");
      return reference(*it, path, depth);
    }
    if (const auto it = schema.find("anyOf"); it != schema.end()) {
      constraining_siblings("anyOf");
      if (!it->is_array() || it->empty()) error(path, "'anyOf' must be a non-empty list of schemas");
      std::vector<std::string> alternatives;
      for (size_t i = 0; i < it->size(); ++i) {
        alternatives.push_back(compile((*it)[i], fmt::format("{}/anyOf/{}", path, i), hint, depth + 1));
      }
      return fmt::format("({})", fmt::join(alternatives, " | "));
    }
    if (const auto it = schema.find("allOf"); it != schema.end()) {
      constraining_siblings("allOf");
      if (!it->is_array() || it->size() != 1) error(path, "'allOf' is supported with exactly one schema");
      return compile((*it)[0], path + "/allOf/0", hint, depth + 1);
    }
    if (const auto it = schema.find("const"); it != schema.end()) return json_literal(*it);
    if (const auto it = schema.find("enum"); it != schema.end()) {
      if (!it->is_array() || it->empty()) error(path, "'enum' must be a non-empty list");
      std::vector<std::string> literals;
      for (const json& v : *it) literals.push_back(json_literal(v));
      return fmt::format("({})", fmt::join(literals, " | "));
    }
    const auto type = schema.find("type");
    if (type == schema.end()) {
      if (schema.contains("properties") || schema.contains("additionalProperties")) {
        return object(schema, path, hint, depth);
      }
      if (schema.contains("items")) return array(schema, path, hint, depth);
      return "value";
    }
    if (type->is_array()) {
      if (type->empty()) error(path, "'type' must not be an empty list");
      std::vector<std::string> alternatives;
      for (const json& t : *type) alternatives.push_back(typed(schema, t, path, hint, depth));
      return fmt::format("({})", fmt::join(alternatives, " | "));
    }
    return typed(schema, *type, path, hint, depth);
  }

  std::string typed(const json& schema, const json& type, const std::string& path, const std::string& hint, int depth) {
    if (!type.is_string()) error(path, "'type' must be a string or a list of strings, got {}", type.dump());
    const std::string& t = type.get_ref<const std::string&>();
    if (t == "object") return object(schema, path, hint, depth);
    if (t == "array") return array(schema, path, hint, depth);
    if (t == "string") return string(schema, path);
    if (t == "number" || t == "integer" || t == "boolean" || t == "null") return t;
    error(path, "'type' {} is not one of object, array, string, number, integer, boolean, null", type.dump());
  }

  std::string string(const json& schema, const std::string& path) {
    const int64_t min = count(schema, "minLength", 0, path), max = count(schema, "maxLength", -1, path);
    if (max >= 0 && max < min) error(path, "'maxLength' {} is below 'minLength' {}", max, min);
    if (min == 0 && max < 0) return "string";
    return fmt::format("\"\\\"\" {} \"\\\"\"", repeated("string-char", min, max));
  }

  std::string array(const json& schema, const std::string& path, const std::string& hint, int depth) {
    std::string item = "value";
    if (const auto it = schema.find("items"); it != schema.end()) {
      if (it->is_array()) error(path, "'items' as a list (a tuple) is not supported");
      item = compile(*it, path + "/items", hint + "-item", depth + 1);
    }
    const int64_t min = count(schema, "minItems", 0, path), max = count(schema, "maxItems", -1, path);
    if (max >= 0 && max < min) error(path, "'maxItems' {} is below 'minItems' {}", max, min);
    if (max == 0) return define(hint, R"("[" ws "]")");
    const std::string element = define(hint + "-element", fmt::format("{} ws", item));
    const std::string more = repeated(fmt::format("\",\" ws {}", element), std::max<int64_t>(min - 1, 0),
                                      max < 0 ? -1 : max - 1);
    const std::string elements = fmt::format("{} {}", element, more);
    return define(hint, fmt::format("\"[\" ws {} \"]\"", min == 0 ? fmt::format("({})?", elements) : elements));
  }

  std::string object(const json& schema, const std::string& path, const std::string& hint, int depth) {
    const json properties = schema.value("properties", json::object());
    if (!properties.is_object()) error(path, "'properties' must be an object");
    const json additional = schema.value("additionalProperties", json(true));
    if (properties.empty()) {
      // No listed properties: a map, its values of the additional properties' schema.
      if (additional.is_boolean() && !additional.get<bool>()) return define(hint, R"("{" ws "}")");
      const std::string value = compile(additional, path + "/additionalProperties", hint + "-value", depth + 1);
      const std::string member = define(hint + "-member", fmt::format("string ws \":\" ws {} ws", value));
      return define(hint, fmt::format("\"{{\" ws ({} (\",\" ws {})*)? \"}}\"", member, member));
    }
    if (!additional.is_boolean()) {
      error(path, "'additionalProperties' as a schema beside 'properties' is not supported (false, true or a map)");
    }
    const json required = schema.value("required", json::array());
    if (!required.is_array() || !std::all_of(required.begin(), required.end(), [](const json& r) { return r.is_string(); })) {
      error(path, "'required' must be a list of property names");
    }
    std::vector<std::pair<std::string, const json*>> listed;
    for (const auto& item : properties.items()) listed.emplace_back(item.key(), &item.value());
    static const json kAnyValue = json::object();
    for (const json& r : required) {
      const auto& name = r.get_ref<const std::string&>();
      if (properties.contains(name)) continue;
      if (!additional.get<bool>()) {
        error(path, "required property '{}' is not in 'properties', and additionalProperties is false", name);
      }
      listed.emplace_back(name, &kAnyValue);
    }
    const auto is_required = [&](const std::string& name) {
      return std::find(required.begin(), required.end(), name) != required.end();
    };
    // Properties in their listed order; each optional one may be left out. `first(i)`
    // writes the object's first present property from i on, `more(i)` the ones after
    // a property has been written (with their commas).
    const size_t n = listed.size();
    std::vector<std::string> members(n);
    for (size_t i = 0; i < n; ++i) {
      const std::string& name = listed[i].first;
      const std::string value = compile(*listed[i].second, path + "/properties/" + name, hint + "-" + name, depth + 1);
      members[i] = define(hint + "-" + name + "-kv", fmt::format("{} ws \":\" ws {} ws", json_literal(json(name)), value));
    }
    std::string first = "\"\"", more = "\"\"";
    for (size_t i = n; i-- > 0;) {
      if (is_required(listed[i].first)) {
        first = fmt::format("{} {}", members[i], more);
        more = define(hint + "-more", fmt::format("\",\" ws {} {}", members[i], more));
      } else {
        first = define(hint + "-first", fmt::format("{} {} | {}", members[i], more, first));
        more = define(hint + "-more", fmt::format("(\",\" ws {})? {}", members[i], more));
      }
    }
    return define(hint, fmt::format("\"{{\" ws {} \"}}\"", first));
  }

  std::string reference(const json& ref, const std::string& path, int depth) {
    if (!ref.is_string()) error(path, "'$ref' must be a string");
    const std::string& target = ref.get_ref<const std::string&>();
    if (const auto it = refs_.find(target); it != refs_.end()) return it->second;
    const json* schema = nullptr;
    std::string name;
    if (target == "#") {
      schema = &root_;
      name = "root";
    }
    for (const char* defs : {"#/$defs/", "#/definitions/"}) {
      const std::string_view prefix(defs);
      if (target.compare(0, prefix.size(), prefix) != 0) continue;
      name = target.substr(prefix.size());
      const auto holder = root_.find(std::string(prefix.substr(2, prefix.size() - 3)));  // $defs, definitions
      const bool found = holder != root_.end() && holder->is_object() && holder->contains(name);
      if (!found) error(path, "'$ref' {} names no definition", target);
      schema = &(*holder)[name];
    }
    if (schema == nullptr) error(path, "'$ref' {} is not supported: only '#', '#/$defs/NAME' and '#/definitions/NAME'", target);
    // Named before it is compiled, so that a recursive schema refers to itself.
    const std::string rule = rule_name("ref-" + name);
    refs_.emplace(target, rule);
    rules_.emplace(rule, compile(*schema, target, name, depth + 1));
    return rule;
  }

  const json& root_;
  std::string prefix_;
  std::map<std::string, std::string> rules_;
  std::map<std::string, std::string> refs_;  // $ref target -> rule
  int rule_count_ = 0;
};

}  // namespace

std::string json_schema_gbnf(const nlohmann::ordered_json& schema) {
  // Blanks may lead (a SentencePiece token's space) but not trail: a document that is
  // complete ends the text, with no end token needed.
  return "root ::= ws schema\n" + SchemaCompiler(schema, "").rules("schema") + std::string(kJsonRules);
}

std::string json_schemas_gbnf(std::string_view root, std::span<const NamedSchema> schemas) {
  std::string out = fmt::format("root ::= {}\n", root);
  for (const NamedSchema& s : schemas) {
    try {
      out += SchemaCompiler(*s.schema, s.rule + "-").rules(s.rule);
    } catch (const Error& e) {
      fail("{}: {}", s.rule, e.what());
    }
  }
  return out + std::string(kJsonRules);
}

std::string json_object_gbnf() { return fmt::format("root ::= ws object\n{}", kJsonRules); }

}  // namespace genrt::grammar
