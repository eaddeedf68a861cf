#include "runtime/core/tensor.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>

namespace genrt {

int64_t shape_numel(const Shape& shape) {
  int64_t numel = 1;
  for (int64_t d : shape) {
    GENRT_CHECK(d >= 0, "negative dimension in shape {}", shape_string(shape));
    GENRT_CHECK(d == 0 || numel <= std::numeric_limits<int64_t>::max() / d,
                "shape {} has more elements than fit in 64 bits", shape_string(shape));
    numel *= d;
  }
  return numel;
}

std::string shape_string(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

namespace {
Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size());
  int64_t stride = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= shape[i];
  }
  return strides;
}
}  // namespace

Tensor Tensor::zeros(Shape shape, DType dtype, Device device) {
  const int64_t numel = shape_numel(shape);
  GENRT_CHECK(numel <= std::numeric_limits<int64_t>::max() / static_cast<int64_t>(dtype_size(dtype)),
              "shape {} of {} is too large to allocate", shape_string(shape), dtype_name(dtype));
  std::shared_ptr<void> buffer = device_alloc_zeroed(device, static_cast<size_t>(numel) * dtype_size(dtype));
  void* data = buffer.get();
  return view_of(data, std::move(shape), dtype, std::move(buffer), device);
}

Tensor Tensor::view_of(void* data, Shape shape, DType dtype, std::shared_ptr<const void> owner,
                       Device device) {
  Tensor t;
  t.numel_ = shape_numel(shape);
  t.strides_ = contiguous_strides(shape);
  t.shape_ = std::move(shape);
  t.dtype_ = dtype;
  t.device_ = device;
  t.data_ = data;
  t.owner_ = std::move(owner);
  return t;
}

int64_t Tensor::dim(int i) const {
  const int r = rank();
  GENRT_CHECK(i >= -r && i < r, "dimension {} out of range for a rank-{} tensor", i, r);
  return shape_[i < 0 ? i + r : i];
}

bool Tensor::is_contiguous() const { return strides_ == contiguous_strides(shape_); }

Tensor Tensor::select(int64_t index) const {
  GENRT_CHECK(rank() >= 1 && index >= 0 && index < shape_[0],
              "select({}) out of range for shape {}", index, shape_string(shape_));
  Tensor t = *this;
  t.data_ = static_cast<char*>(data_) + index * strides_[0] * dtype_size(dtype_);
  t.shape_.erase(t.shape_.begin());
  t.strides_.erase(t.strides_.begin());
  t.numel_ = shape_numel(t.shape_);
  return t;
}

Tensor Tensor::slice(int64_t begin, int64_t end) const {
  GENRT_CHECK(rank() >= 1 && 0 <= begin && begin <= end && end <= shape_[0],
              "slice [{}, {}) out of range for shape {}", begin, end, shape_string(shape_));
  Tensor t = *this;
  t.data_ = static_cast<char*>(data_) + begin * strides_[0] * dtype_size(dtype_);
  t.shape_[0] = end - begin;
  t.numel_ = shape_numel(t.shape_);
  return t;
}

Tensor Tensor::reshape(Shape shape) const {
  GENRT_CHECK(is_contiguous(), "reshape of a non-contiguous tensor {}", shape_string(shape_));
  GENRT_CHECK(shape_numel(shape) == numel_, "cannot reshape {} to {}", shape_string(shape_),
              shape_string(shape));
  Tensor t = *this;
  t.strides_ = contiguous_strides(shape);
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::to_f32() const {
  GENRT_CHECK(device_ == Device::cpu, "to_f32 needs a CPU tensor");
  GENRT_CHECK(is_contiguous(), "to_f32 needs a contiguous tensor, got strides {}",
              shape_string(strides_));
  // Views into files may be unaligned (safetensors data starts at 8 + header length).
  const bool aligned = reinterpret_cast<uintptr_t>(data_) % alignof(float) == 0;
  if (dtype_ == DType::f32 && aligned) return *this;
  Tensor out = zeros(shape_, DType::f32);
  convert_to_f32(data_, dtype_, out.data<float>(), static_cast<size_t>(numel_));
  return out;
}

Tensor Tensor::transposed_f32() const {
  GENRT_CHECK(rank() == 2, "transposed_f32 needs a 2-D tensor, got {}", shape_string(shape_));
  const Tensor src = to_f32();
  const int64_t rows = shape_[0], cols = shape_[1];
  Tensor out = zeros({cols, rows}, DType::f32);
  const float* in = src.data<float>();
  float* dst = out.data<float>();
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) dst[c * rows + r] = in[r * cols + c];
  }
  return out;
}

Tensor concat_rows(std::span<const Tensor> parts) {
  GENRT_CHECK(!parts.empty() && parts[0].rank() >= 1, "concat_rows: expected tensors of rank >= 1");
  Shape shape = parts[0].shape();
  shape[0] = 0;
  for (const Tensor& part : parts) {
    GENRT_CHECK(part.rank() == parts[0].rank() &&
                    std::equal(part.shape().begin() + 1, part.shape().end(), parts[0].shape().begin() + 1),
                "concat_rows: {} does not match {} past the first dimension", shape_string(part.shape()),
                shape_string(parts[0].shape()));
    shape[0] += part.dim(0);
  }
  Tensor out = Tensor::zeros(shape, DType::f32);
  float* dst = out.data<float>();
  for (const Tensor& part : parts) {
    const Tensor f32 = part.to_f32();
    dst = std::copy_n(f32.data<float>(), f32.numel(), dst);
  }
  return out;
}

}  // namespace genrt
