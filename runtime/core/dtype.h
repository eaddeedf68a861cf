#pragma once
// Element types and their CPU conversions. fp16 and bf16 are stored as raw uint16_t
// bit patterns on the host; conversions round to nearest even like the hardware does.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace genrt {

enum class DType : uint8_t { f32, f16, bf16, i32 };

size_t dtype_size(DType dtype);
std::string_view dtype_name(DType dtype);  // "f32", "f16", "bf16", "i32"
std::optional<DType> parse_dtype(std::string_view name);

float f16_to_f32(uint16_t bits);
uint16_t f32_to_f16(float value);
float bf16_to_f32(uint16_t bits);
uint16_t f32_to_bf16(float value);

// Converts n elements of a float type (f32/f16/bf16) to or from fp32.
void convert_to_f32(const void* src, DType src_dtype, float* dst, size_t n);
void convert_from_f32(const float* src, void* dst, DType dst_dtype, size_t n);

}  // namespace genrt
