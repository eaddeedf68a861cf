#include "runtime/io/npy.h"

#include <cstring>
#include <fstream>
#include <regex>
#include <string>

#include "runtime/io/mapped_file.h"

namespace genrt {

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;

// The header is a Python dict literal: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
std::string dict_value(const std::string& header, const std::string& key, const std::string& where) {
  const std::regex pattern("['\"]" + key + R"(['"]\s*:\s*('[^']*'|"[^"]*"|True|False|\([^)]*\)))");
  std::smatch match;
  GENRT_CHECK(std::regex_search(header, match, pattern), "{}: the .npy header has no '{}'", where, key);
  return match[1].str();
}

Shape parse_shape(const std::string& tuple, const std::string& where) {
  Shape shape;
  const std::string inner = tuple.substr(1, tuple.size() - 2);
  size_t pos = 0;
  while (pos < inner.size()) {
    const size_t comma = inner.find(',', pos);
    const std::string item = inner.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    const auto first = item.find_first_not_of(' ');
    if (first != std::string::npos) {
      size_t used = 0;
      int64_t dim = -1;
      try {
        dim = std::stoll(item.substr(first), &used);
      } catch (const std::exception&) {
      }
      GENRT_CHECK(dim >= 0 && item.find_first_not_of(' ', first + used) == std::string::npos,
                  "{}: bad shape {} in the .npy header", where, tuple);
      shape.push_back(dim);
    }
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return shape;
}

}  // namespace

Tensor read_npy(const std::filesystem::path& path) {
  const std::string where = path.string();
  const auto file = MappedFile::open(path);
  const std::string_view bytes = file->bytes();
  GENRT_CHECK(bytes.size() >= 10 && std::memcmp(bytes.data(), kMagic, kMagicSize) == 0,
              "{}: not a .npy file (no \\x93NUMPY magic)", where);
  const int major = static_cast<uint8_t>(bytes[6]);
  GENRT_CHECK(major >= 1 && major <= 3, "{}: .npy format version {} is not supported", where, major);
  size_t header_len = 0, offset = 0;
  if (major == 1) {
    header_len = static_cast<uint8_t>(bytes[8]) | static_cast<size_t>(static_cast<uint8_t>(bytes[9])) << 8;
    offset = 10;
  } else {
    GENRT_CHECK(bytes.size() >= 12, "{}: truncated .npy header", where);
    for (int i = 3; i >= 0; --i) header_len = header_len << 8 | static_cast<uint8_t>(bytes[8 + i]);
    offset = 12;
  }
  GENRT_CHECK(header_len <= bytes.size() - offset, "{}: truncated .npy header", where);
  const std::string header(bytes.substr(offset, header_len));
  const std::string descr = dict_value(header, "descr", where);
  GENRT_CHECK(dict_value(header, "fortran_order", where) == "False",
              "{}: Fortran-ordered arrays are not supported (save with np.ascontiguousarray)", where);
  const Shape shape = parse_shape(dict_value(header, "shape", where), where);
  DType stored;
  size_t item = 0;
  const std::string type = descr.substr(1, descr.size() - 2);
  if (type == "<f4") {
    stored = DType::f32, item = 4;
  } else if (type == "<f2") {
    stored = DType::f16, item = 2;
  } else if (type == "<f8") {
    stored = DType::f32, item = 8;  // converted below
  } else {
    fail("{}: dtype {} is not supported (float32, float64 or float16, little-endian)", where, type);
  }
  const int64_t numel = shape_numel(shape);
  const size_t data_offset = offset + header_len;
  GENRT_CHECK(bytes.size() - data_offset == static_cast<size_t>(numel) * item,
              "{}: {} data bytes for shape {} of {}", where, bytes.size() - data_offset,
              shape_string(shape), type);
  Tensor out = Tensor::zeros(shape, DType::f32);
  const auto* data = bytes.data() + data_offset;
  float* dst = out.data<float>();
  if (item == 8) {
    for (int64_t i = 0; i < numel; ++i) {
      double v;
      std::memcpy(&v, data + i * 8, 8);
      dst[i] = static_cast<float>(v);
    }
  } else {
    convert_to_f32(data, stored, dst, static_cast<size_t>(numel));
  }
  return out;
}

void write_npy(const std::filesystem::path& path, const Tensor& tensor) {
  GENRT_CHECK(tensor.dtype() == DType::f32, "write_npy: {} holds {}, expected f32", path.string(),
              dtype_name(tensor.dtype()));
  std::string shape = "(";
  for (int64_t d : tensor.shape()) shape += std::to_string(d) + ", ";
  if (tensor.rank() > 1) shape.resize(shape.size() - 2);
  if (tensor.rank() == 1) shape.resize(shape.size() - 1);
  shape += ")";
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
  // Pad with spaces so that magic + version + length + header is a multiple of 64 bytes.
  const size_t unpadded = kMagicSize + 2 + 2 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  GENRT_CHECK(out.good(), "cannot write {}", path.string());
  out.write(kMagic, kMagicSize);
  const char version[2] = {1, 0};
  out.write(version, 2);
  const char length[2] = {static_cast<char>(header.size() & 0xff), static_cast<char>(header.size() >> 8)};
  out.write(length, 2);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  const auto values = tensor.span<float>();
  out.write(reinterpret_cast<const char*>(values.data()), static_cast<std::streamsize>(values.size_bytes()));
  GENRT_CHECK(out.good(), "error writing {}", path.string());
}

}  // namespace genrt
