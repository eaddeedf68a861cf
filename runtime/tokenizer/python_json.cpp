#include "runtime/tokenizer/python_json.h"

namespace genrt {

namespace {

void write(const nlohmann::ordered_json& v, int indent, int depth, std::string& out) {
  const bool container = v.is_object() || v.is_array();
  if (!container || v.empty()) {
    // Scalars (and {} / []) are spelled alike: nlohmann and Python both write the shortest
    // round-trip float, raw UTF-8 and lowercase \u00XX escapes for control characters.
    out += v.dump();
    return;
  }
  const std::string newline = indent < 0 ? "" : "\n" + std::string(static_cast<size_t>(indent * (depth + 1)), ' ');
  const char* separator = indent < 0 ? ", " : ",";
  out += v.is_object() ? '{' : '[';
  bool first = true;
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (!first) out += separator;
    first = false;
    out += newline;
    if (v.is_object()) out += nlohmann::ordered_json(it.key()).dump() + ": ";
    write(*it, indent, depth + 1, out);
  }
  if (indent >= 0) out += "\n" + std::string(static_cast<size_t>(indent * depth), ' ');
  out += v.is_object() ? '}' : ']';
}

}  // namespace

std::string python_json(const nlohmann::ordered_json& value, int indent) {
  std::string out;
  write(value, indent, 0, out);
  return out;
}

}  // namespace genrt
