#pragma once
// JSON text as Python's json.dumps writes it, which is what chat templates' `tojson`
// filter produces (transformers: ensure_ascii=False, keys in insertion order). Tools and
// tool-call arguments enter a prompt this way, and a model is trained on exactly those
// bytes: ", " and ": " between items without indent, "," and ": " with one.

#include <string>

#include <nlohmann/json.hpp>

namespace genrt {

// indent < 0: on one line; else pretty-printed with `indent` spaces per level.
std::string python_json(const nlohmann::ordered_json& value, int indent = -1);

}  // namespace genrt
