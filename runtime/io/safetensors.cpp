#include "runtime/io/safetensors.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include <nlohmann/json.hpp>

#include "runtime/core/utf8.h"

namespace genrt {

uint64_t safetensors_dtype_size(std::string_view dtype) {
  static const std::map<std::string_view, uint64_t> sizes = {
      {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1}, {"I16", 2},
      {"U16", 2},  {"F16", 2}, {"BF16", 2}, {"I32", 4},    {"U32", 4},     {"F32", 4},
      {"F64", 8},  {"I64", 8}, {"U64", 8}};
  const auto it = sizes.find(dtype);
  return it == sizes.end() ? 0 : it->second;
}

namespace {

SafetensorsEntry parse_entry(const std::string& where, const std::string& name,
                             const nlohmann::json& value) {
  const std::string at = where + ": tensor '" + name + "'";
  GENRT_CHECK(value.is_object(), "{}: entry is not a JSON object", at);
  const auto dtype = value.find("dtype");
  const auto shape = value.find("shape");
  const auto offsets = value.find("data_offsets");
  GENRT_CHECK(dtype != value.end() && dtype->is_string(), "{}: missing or non-string 'dtype'", at);
  GENRT_CHECK(shape != value.end() && shape->is_array(), "{}: missing or non-array 'shape'", at);
  GENRT_CHECK(offsets != value.end() && offsets->is_array() && offsets->size() == 2,
              "{}: 'data_offsets' must be an array [begin, end]", at);

  SafetensorsEntry entry;
  entry.dtype = dtype->get<std::string>();
  const uint64_t element_size = safetensors_dtype_size(entry.dtype);
  GENRT_CHECK(element_size != 0, "{}: unknown dtype '{}'", at, entry.dtype);

  uint64_t numel = 1;
  for (const auto& d : *shape) {
    GENRT_CHECK(d.is_number_unsigned(), "{}: shape {} has a dimension that is not a non-negative integer",
                at, shape->dump());
    const uint64_t dim = d.get<uint64_t>();
    GENRT_CHECK(dim <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) &&
                    (dim == 0 || numel <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / dim),
                "{}: shape {} overflows 64 bits", at, shape->dump());
    numel *= dim;
    entry.shape.push_back(static_cast<int64_t>(dim));
  }
  GENRT_CHECK(numel <= std::numeric_limits<uint64_t>::max() / element_size,
              "{}: shape {} x {} bytes overflows 64 bits", at, shape->dump(), element_size);

  for (const auto& o : *offsets) {
    GENRT_CHECK(o.is_number_unsigned(), "{}: data_offsets {} must be non-negative integers", at,
                offsets->dump());
  }
  entry.begin = (*offsets)[0].get<uint64_t>();
  entry.end = (*offsets)[1].get<uint64_t>();
  GENRT_CHECK(entry.begin <= entry.end, "{}: data_offsets {} end before they begin", at,
              offsets->dump());
  GENRT_CHECK(entry.end - entry.begin == numel * element_size,
              "{}: data_offsets {} span {} bytes, but shape {} of {} needs {}", at, offsets->dump(),
              entry.end - entry.begin, shape->dump(), entry.dtype, numel * element_size);
  return entry;
}

}  // namespace

SafetensorsFile SafetensorsFile::open(const std::filesystem::path& path) { return parse(MappedFile::open(path)); }

SafetensorsFile SafetensorsFile::parse(std::shared_ptr<const MappedFile> file) {
  SafetensorsFile st;
  st.file_ = std::move(file);
  const std::string where = st.file_->path().string();
  const uint64_t file_size = st.file_->size();
  GENRT_CHECK(file_size >= 8, "{}: file is {} bytes, too short for a safetensors header", where,
              file_size);

  uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | st.file_->data()[i];
  GENRT_CHECK(header_size <= kMaxHeaderBytes, "{}: header length {} exceeds the 100 MB limit",
              where, header_size);
  GENRT_CHECK(header_size <= file_size - 8,
              "{}: header length {} runs past the end of the {}-byte file", where, header_size,
              file_size);
  st.data_start_ = 8 + header_size;

  const std::string_view header_text = st.file_->bytes().substr(8, header_size);
  GENRT_CHECK(is_valid_utf8(header_text), "{}: header is not valid UTF-8", where);
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(header_text);
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for numbers like 1e999
    fail("{}: header is not valid JSON: {}", where, e.what());
  }
  GENRT_CHECK(header.is_object(), "{}: header is not a JSON object", where);

  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      GENRT_CHECK(value.is_object(), "{}: __metadata__ is not an object", where);
      for (const auto& [key, text] : value.items()) {
        GENRT_CHECK(text.is_string(), "{}: __metadata__ value '{}' is not a string", where, key);
        st.metadata_[key] = text.get<std::string>();
      }
      continue;
    }
    st.entries_[name] = parse_entry(where, name, value);
  }

  // The spans must tile [0, data size) exactly: sorted by offset, each starts where the
  // previous ended, and the last ends at the end of the file.
  std::vector<std::pair<const std::string*, const SafetensorsEntry*>> spans;
  for (const auto& [name, entry] : st.entries_) spans.emplace_back(&name, &entry);
  std::sort(spans.begin(), spans.end(), [](const auto& a, const auto& b) {
    return std::tie(a.second->begin, a.second->end) < std::tie(b.second->begin, b.second->end);
  });
  const uint64_t data_size = file_size - st.data_start_;
  uint64_t cursor = 0;
  for (const auto& [name, entry] : spans) {
    GENRT_CHECK(entry->begin >= cursor, "{}: tensor '{}' at bytes [{}, {}) overlaps the tensor before it",
                where, *name, entry->begin, entry->end);
    GENRT_CHECK(entry->begin == cursor, "{}: gap of {} bytes in the data before tensor '{}'", where,
                entry->begin - cursor, *name);
    GENRT_CHECK(entry->end <= data_size,
                "{}: tensor '{}' at bytes [{}, {}) runs past the end of the {}-byte data section",
                where, *name, entry->begin, entry->end, data_size);
    cursor = entry->end;
  }
  GENRT_CHECK(cursor == data_size, "{}: {} bytes of data after the last tensor", where,
              data_size - cursor);
  return st;
}

Tensor SafetensorsFile::tensor(const std::string& name) const {
  const auto it = entries_.find(name);
  GENRT_CHECK(it != entries_.end(), "{}: no tensor named '{}'", path().string(), name);
  const SafetensorsEntry& entry = it->second;
  static const std::map<std::string_view, DType> computable = {
      {"F32", DType::f32}, {"F16", DType::f16}, {"BF16", DType::bf16}, {"I32", DType::i32}};
  const auto dtype = computable.find(entry.dtype);
  GENRT_CHECK(dtype != computable.end(),
              "{}: tensor '{}' has dtype {}; genrt loads F32, F16, BF16 and I32", path().string(),
              name, entry.dtype);
  auto* data = const_cast<unsigned char*>(file_->data() + data_start_ + entry.begin);
  return Tensor::view_of(data, entry.shape, dtype->second, file_);
}

}  // namespace genrt
