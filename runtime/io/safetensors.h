#pragma once
// Reader for the safetensors format: an 8-byte little-endian header length, a JSON
// header mapping tensor names to {dtype, shape, data_offsets}, then the raw data.
// Every field is validated before any tensor is handed out (see open()).

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "runtime/core/tensor.h"
#include "runtime/io/mapped_file.h"

namespace genrt {

struct SafetensorsEntry {
  std::string dtype;   // as written in the file: "F32", "BF16", "I64", ...
  Shape shape;
  uint64_t begin = 0;  // byte offsets into the data section
  uint64_t end = 0;
};

class SafetensorsFile {
 public:
  static constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

  // Maps and validates the file: at least 8 bytes; header length <= 100 MB and inside the
  // file; header is UTF-8 JSON of entries with known dtypes; shape products fit 64 bits;
  // each byte span equals shape x dtype size; spans are in bounds and tile the data
  // section exactly, with no overlap, gap or trailing bytes.
  static SafetensorsFile open(const std::filesystem::path& path);
  static SafetensorsFile parse(std::shared_ptr<const MappedFile> file);

  const std::filesystem::path& path() const { return file_->path(); }
  const std::map<std::string, SafetensorsEntry>& entries() const { return entries_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  bool contains(const std::string& name) const { return entries_.count(name) != 0; }

  // A CPU view of one tensor, sharing ownership of the map. Throws for unknown names and
  // for dtypes genrt does not compute in (only F32, F16, BF16, I32 are).
  Tensor tensor(const std::string& name) const;

 private:
  std::shared_ptr<const MappedFile> file_;
  uint64_t data_start_ = 0;
  std::map<std::string, SafetensorsEntry> entries_;
  std::map<std::string, std::string> metadata_;
};

// Size in bytes of one element of a safetensors dtype name, or 0 if the name is unknown.
uint64_t safetensors_dtype_size(std::string_view dtype);

}  // namespace genrt
