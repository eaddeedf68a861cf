#pragma once
// JSON documents read from disk, with errors that name the file and the field.

#include <filesystem>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "runtime/core/error.h"

namespace genrt {

// The file's bytes; an error names it when it cannot be read.
std::string read_text_file(const std::filesystem::path& path);
nlohmann::json read_json_file(const std::filesystem::path& path);
// Objects keep their keys in the file's order (a JSON schema's properties).
nlohmann::ordered_json read_ordered_json_file(const std::filesystem::path& path);

// Typed access to a required / optional field of a JSON object; errors name `where`
// (usually the file) and the field.
template <class T>
T json_required(const nlohmann::json& obj, std::string_view field, std::string_view where);
template <class T>
T json_optional(const nlohmann::json& obj, std::string_view field, const T& fallback,
                std::string_view where);

// parse(config, where): a model's config.json reader, whose unchecked reads of a field of
// the wrong kind (nlohmann's type errors) become an error naming the file.
template <class Parse>
auto parse_config_json(const nlohmann::json& config, const std::string& where, Parse parse) {
  try {
    return parse(config, where);
  } catch (const nlohmann::json::exception& e) {
    fail("{}: malformed config.json: {}", where, e.what());
  }
}

}  // namespace genrt
