#include "runtime/backend/image_ops.h"

#include <algorithm>
#include <cstring>

#include "kernels/ref/conv2d.h"
#include "kernels/ref/group_norm.h"
#include "kernels/ref/upsample.h"
#include "runtime/backend/cuda_dispatch.h"
#include "runtime/backend/kernel_args.h"
#include "runtime/backend/linear_ops.h"
#include "runtime/backend/op_checks.h"

namespace genrt::ops {

namespace {

void expect_image(const Tensor& t, const char* op, const char* name) {
  GENRT_CHECK(t.rank() == 4, "{}: {} must be an NHWC image [batch, height, width, channels], got {}", op, name,
              shape_string(t.shape()));
}

}  // namespace

void conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& p, Tensor& out) {
  const char* op = "conv2d";
  const Placement where = placement_of(x, op, "x");
  expect_image(x, op, "x");
  expect_on(weight, where, op, "weight");
  GENRT_CHECK(weight.rank() == 4 && weight.dim(1) == weight.dim(2) && weight.dim(3) == x.dim(3),
              "{}: weight {} must be [out_channels, kernel, kernel, {}] for x {}", op, shape_string(weight.shape()),
              x.dim(3), shape_string(x.shape()));
  GENRT_CHECK(p.stride > 0 && p.padding >= 0 && p.extra_padding_end >= 0,
              "{}: stride {} must be positive, padding {} and extra end padding {} non-negative", op, p.stride,
              p.padding, p.extra_padding_end);
  const ref::Conv2dShape shape{.batch = x.dim(0),
                               .height = x.dim(1),
                               .width = x.dim(2),
                               .in_channels = x.dim(3),
                               .out_channels = weight.dim(0),
                               .kernel = weight.dim(1),
                               .stride = p.stride,
                               .padding = p.padding,
                               .extra_padding_end = p.extra_padding_end};
  GENRT_CHECK(shape.height + 2 * p.padding + p.extra_padding_end >= shape.kernel &&
                  shape.width + 2 * p.padding + p.extra_padding_end >= shape.kernel,
              "{}: a {}x{} kernel does not fit x {} with padding {} (and {} more at the end)", op, shape.kernel,
              shape.kernel, shape_string(x.shape()), p.padding, p.extra_padding_end);
  expect_optional_vector(bias, shape.out_channels, where, op, "bias");
  expect_on(out, where, op, "out");
  expect_shape(out, {shape.batch, shape.out_height(), shape.out_width(), shape.out_channels}, op, "out");
  const auto x_begin = reinterpret_cast<uintptr_t>(x.raw()), out_begin = reinterpret_cast<uintptr_t>(out.raw());
  GENRT_CHECK(out_begin + out.nbytes() <= x_begin || x_begin + x.nbytes() <= out_begin, "{}: out must not overlap x",
              op);
  const OpTimer timer(__func__, where.device);  // a 1x1 convolution's linear is part of its span
  if (shape.kernel == 1 && p.stride == 1 && p.padding == 0 && p.extra_padding_end == 0) {
    const int64_t pixels = shape.batch * shape.height * shape.width;
    Tensor rows = out.reshape({pixels, shape.out_channels});
    linear(x.reshape({pixels, shape.in_channels}), weight.reshape({shape.out_channels, shape.in_channels}), bias,
           rows);
    return;
  }
  GENRT_ON_CUDA(where, cuda_ops::conv2d(x, weight, bias, shape, out));
  ref::conv2d(shape, x.data<float>(), weight.data<float>(), data_or_null<float>(bias), out.data<float>());
}

void group_norm(const Tensor& x, const Tensor& channel_add, const Tensor& weight, const Tensor& bias,
                const GroupNormParams& p, Tensor& out) {
  const char* op = "group_norm";
  const Placement where = placement_of(x, op, "x");
  GENRT_CHECK(x.rank() >= 3, "{}: x must be [batch, pixels..., channels], got {}", op, shape_string(x.shape()));
  const int64_t batch = x.dim(0), channels = x.dim(-1), pixels = x.numel() / std::max<int64_t>(1, batch * channels);
  GENRT_CHECK(p.groups > 0 && channels % p.groups == 0, "{}: {} groups must divide the {} channels", op, p.groups,
              channels);
  if (channel_add.defined()) {
    expect_on(channel_add, where, op, "channel_add");
    expect_shape(channel_add, {batch, channels}, op, "channel_add");
  }
  expect_optional_vector(weight, channels, where, op, "weight");
  expect_optional_vector(bias, channels, where, op, "bias");
  expect_on(out, where, op, "out");
  expect_shape(out, x.shape(), op, "out");
  const GroupNormOperands operands{.x = &x,
                                   .channel_add = &channel_add,
                                   .weight = &weight,
                                   .bias = &bias,
                                   .out = &out,
                                   .batch = batch,
                                   .pixels = pixels,
                                   .channels = channels,
                                   .params = p};
  GENRT_ON_CUDA(where, cuda_ops::group_norm(operands));
  ref::group_norm(group_norm_args<float>(operands));
}

void upsample_nearest2x(const Tensor& x, Tensor& out) {
  const char* op = "upsample_nearest2x";
  const Placement where = placement_of(x, op, "x");
  expect_image(x, op, "x");
  expect_on(out, where, op, "out");
  expect_shape(out, {x.dim(0), 2 * x.dim(1), 2 * x.dim(2), x.dim(3)}, op, "out");
  const ref::UpsampleShape shape{.batch = x.dim(0), .height = x.dim(1), .width = x.dim(2), .channels = x.dim(3)};
  GENRT_ON_CUDA(where, cuda_ops::upsample_nearest2x(x, shape, out));
  ref::upsample_nearest2x(shape, x.data<float>(), out.data<float>());
}

void concat_channels(const Tensor& a, const Tensor& b, Tensor& out) {
  const char* op = "concat_channels";
  const Placement where = placement_of(a, op, "a");
  expect_on(b, where, op, "b");
  expect_on(out, where, op, "out");
  Shape leading = a.shape();
  leading.pop_back();
  Shape b_leading = b.shape(), expected = a.shape();
  GENRT_CHECK(a.rank() >= 1 && b.rank() == a.rank(), "{}: a {} and b {} must have the same rank", op,
              shape_string(a.shape()), shape_string(b.shape()));
  b_leading.pop_back();
  GENRT_CHECK(b_leading == leading, "{}: a {} and b {} differ before their channels", op, shape_string(a.shape()),
              shape_string(b.shape()));
  expected.back() += b.dim(-1);
  expect_shape(out, expected, op, "out");
  GENRT_CHECK(out.raw() != a.raw() && out.raw() != b.raw(), "{}: out must not alias a or b", op);
  GENRT_ON_CUDA(where, cuda_ops::concat_channels(a, b, out));
  const int64_t rows = shape_numel(leading), ca = a.dim(-1), cb = b.dim(-1);
  const float *pa = a.data<float>(), *pb = b.data<float>();
  float* po = out.data<float>();
  for (int64_t r = 0; r < rows; ++r) {
    std::memcpy(po + r * (ca + cb), pa + r * ca, static_cast<size_t>(ca) * sizeof(float));
    std::memcpy(po + r * (ca + cb) + ca, pb + r * cb, static_cast<size_t>(cb) * sizeof(float));
  }
}

}  // namespace genrt::ops
