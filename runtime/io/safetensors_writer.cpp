#include "runtime/io/safetensors_writer.h"

#include <cstdint>
#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>

namespace genrt {

namespace {
const char* safetensors_dtype(DType dtype) {
  switch (dtype) {
    case DType::f32: return "F32";
    case DType::f16: return "F16";
    case DType::bf16: return "BF16";
    case DType::i32: return "I32";
  }
  return "?";
}
}  // namespace

void write_safetensors(const std::filesystem::path& path, const std::vector<TensorSpec>& specs,
                       const TensorFill& fill, const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header;
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const TensorSpec& spec : specs) {
    const uint64_t bytes = static_cast<uint64_t>(shape_numel(spec.shape)) * dtype_size(spec.dtype);
    header[spec.name] = {{"dtype", safetensors_dtype(spec.dtype)},
                         {"shape", spec.shape},
                         {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keep the data section 8-byte aligned

  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  GENRT_CHECK(out.good(), "cannot create {}", path.string());
  const uint64_t header_size = text.size();
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>((header_size >> (8 * i)) & 0xff));
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  for (size_t i = 0; i < specs.size(); ++i) {
    Tensor tensor = Tensor::zeros(specs[i].shape, specs[i].dtype);
    fill(i, tensor);
    out.write(static_cast<const char*>(tensor.raw()), static_cast<std::streamsize>(tensor.nbytes()));
  }
  GENRT_CHECK(out.good(), "error writing {}", path.string());
}

void write_safetensors(const std::filesystem::path& path, const std::vector<NamedTensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<TensorSpec> specs;
  for (const auto& [name, tensor] : tensors) {
    GENRT_CHECK(tensor.device() == Device::cpu && tensor.is_contiguous(),
                "write_safetensors: tensor '{}' must be a contiguous CPU tensor", name);
    specs.push_back({name, tensor.shape(), tensor.dtype()});
  }
  write_safetensors(
      path, specs,
      [&](size_t i, Tensor& out) { std::memcpy(out.raw(), tensors[i].tensor.raw(), out.nbytes()); },
      metadata);
}

}  // namespace genrt
