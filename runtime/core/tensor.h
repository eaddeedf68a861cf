#pragma once
// Tensor: a typed, strided view of memory on one device. It either owns its buffer or
// shares ownership of someone else's (a memory-mapped file, an arena) through `owner`,
// so a view keeps the memory it points into alive.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "runtime/core/device.h"
#include "runtime/core/dtype.h"
#include "runtime/core/error.h"

namespace genrt {

using Shape = std::vector<int64_t>;

// Product of the dimensions; throws if a dimension is negative or the product
// overflows int64.
int64_t shape_numel(const Shape& shape);
std::string shape_string(const Shape& shape);  // "[2, 3, 4]"

template <class T>
constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::f32; }
template <> constexpr DType dtype_of<int32_t>() { return DType::i32; }

class Tensor {
 public:
  Tensor() = default;

  // Allocates a zero-filled contiguous tensor.
  static Tensor zeros(Shape shape, DType dtype, Device device = Device::cpu);
  // Wraps memory owned elsewhere; `owner` is kept alive as long as the view.
  static Tensor view_of(void* data, Shape shape, DType dtype, std::shared_ptr<const void> owner,
                        Device device = Device::cpu);

  bool defined() const { return data_ != nullptr || owner_ != nullptr; }
  const Shape& shape() const { return shape_; }
  const Shape& strides() const { return strides_; }  // in elements
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int i) const;  // negative i counts from the end
  int64_t numel() const { return numel_; }
  DType dtype() const { return dtype_; }
  Device device() const { return device_; }
  size_t nbytes() const { return static_cast<size_t>(numel_) * dtype_size(dtype_); }
  bool is_contiguous() const;

  void* raw() const { return data_; }
  template <class T>
  T* data() const {
    GENRT_CHECK(dtype_of<T>() == dtype_, "tensor holds {}, not {}", dtype_name(dtype_),
                dtype_name(dtype_of<T>()));
    return static_cast<T*>(data_);
  }
  // Contiguous CPU tensor as a flat span.
  template <class T>
  std::span<T> span() const {
    GENRT_CHECK(device_ == Device::cpu && is_contiguous(), "span() needs a contiguous CPU tensor");
    return {data<T>(), static_cast<size_t>(numel_)};
  }

  // Views. select(i) drops the first dimension; slice keeps it with rows [begin, end).
  Tensor select(int64_t index) const;
  Tensor slice(int64_t begin, int64_t end) const;
  Tensor reshape(Shape shape) const;  // contiguous tensors only

  // A contiguous fp32 CPU copy (or this tensor itself when it already is one).
  Tensor to_f32() const;
  // A contiguous fp32 CPU copy of a 2-D tensor with its dimensions swapped.
  Tensor transposed_f32() const;

 private:
  std::shared_ptr<const void> owner_;
  void* data_ = nullptr;
  Shape shape_;
  Shape strides_;
  int64_t numel_ = 0;
  DType dtype_ = DType::f32;
  Device device_ = Device::cpu;
};

// A contiguous fp32 CPU tensor of the rows of `parts` one after another (their shapes
// equal but for the first dimension): the weight of a fused projection.
Tensor concat_rows(std::span<const Tensor> parts);

}  // namespace genrt
