#include "runtime/io/json_file.h"

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

#include "runtime/core/error.h"

namespace genrt {

std::string read_text_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  GENRT_CHECK(in.good(), "cannot open {}", path.string());
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

namespace {
template <class Json>
Json parse_json_file(const std::filesystem::path& path) {
  const std::string text = read_text_file(path);
  try {
    return Json::parse(text);
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for numbers like 1e999
    fail("{} is not valid JSON: {}", path.string(), e.what());
  }
}
}  // namespace

nlohmann::json read_json_file(const std::filesystem::path& path) { return parse_json_file<nlohmann::json>(path); }

nlohmann::ordered_json read_ordered_json_file(const std::filesystem::path& path) {
  return parse_json_file<nlohmann::ordered_json>(path);
}

namespace {
template <class T>
T convert(const nlohmann::json& value, std::string_view field, std::string_view where) {
  bool ok = false;
  if constexpr (std::is_same_v<T, bool>) {
    ok = value.is_boolean();
  } else if constexpr (std::is_integral_v<T>) {
    ok = value.is_number_integer();
  } else if constexpr (std::is_floating_point_v<T>) {
    ok = value.is_number();
  } else {
    ok = value.is_string();
  }
  GENRT_CHECK(ok, "{}: field '{}' has the wrong type ({})", where, field, value.dump());
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    if (value.is_number_unsigned()) {
      const uint64_t v = value.get<uint64_t>();
      GENRT_CHECK(v <= static_cast<uint64_t>(std::numeric_limits<T>::max()),
                  "{}: field '{}' = {} is out of range", where, field, v);
    } else {
      const int64_t v = value.get<int64_t>();
      GENRT_CHECK(v >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
                      v <= static_cast<int64_t>(std::numeric_limits<T>::max()),
                  "{}: field '{}' = {} is out of range", where, field, v);
    }
  }
  return value.get<T>();
}
}  // namespace

template <class T>
T json_required(const nlohmann::json& obj, std::string_view field, std::string_view where) {
  GENRT_CHECK(obj.is_object(), "{}: expected a JSON object", where);
  const auto it = obj.find(field);
  GENRT_CHECK(it != obj.end() && !it->is_null(), "{}: missing required field '{}'", where, field);
  return convert<T>(*it, field, where);
}

template <class T>
T json_optional(const nlohmann::json& obj, std::string_view field, const T& fallback,
                std::string_view where) {
  GENRT_CHECK(obj.is_object(), "{}: expected a JSON object", where);
  const auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return fallback;
  return convert<T>(*it, field, where);
}

template int64_t json_required<int64_t>(const nlohmann::json&, std::string_view, std::string_view);
template double json_required<double>(const nlohmann::json&, std::string_view, std::string_view);
template std::string json_required<std::string>(const nlohmann::json&, std::string_view,
                                                std::string_view);
template int64_t json_optional<int64_t>(const nlohmann::json&, std::string_view, const int64_t&,
                                        std::string_view);
template double json_optional<double>(const nlohmann::json&, std::string_view, const double&,
                                      std::string_view);
template bool json_optional<bool>(const nlohmann::json&, std::string_view, const bool&,
                                  std::string_view);
template std::string json_optional<std::string>(const nlohmann::json&, std::string_view,
                                                const std::string&, std::string_view);

}  // namespace genrt
