#pragma once
// diffusers' ResnetBlock2D, the convolutional block of the UNet and the VAE, over NHWC
// images:
//
//   h = conv1(silu(norm1(x)))
//   h = conv2(silu(norm2(h + time_emb_proj(silu(temb)))))     (the UNet's blocks have temb)
//   out = conv_shortcut(x) + h                                   (the shortcut when in != out)

#include <array>
#include <string>

#include "runtime/models/blocks/conv2d.h"
#include "runtime/models/blocks/linear.h"
#include "runtime/models/blocks/norms.h"

namespace genrt::blocks {

struct ResnetShape {
  int64_t in_channels = 0, out_channels = 0;
  int64_t temb_channels = 0;  // 0: no time embedding (the VAE)
  int64_t groups = 32;
  float eps = 1e-5f;
};

// Scratch of one block, each a flat buffer of at least batch * pixels * max(in, out)
// values, and channel_add of batch * out values when the block has a time embedding.
struct ResnetBuffers {
  Tensor normed, hidden, channel_add;
};

struct ResnetBlock2D {
  GroupNorm norm1, norm2;
  Conv2d conv1, conv2;
  Linear time_emb_proj;  // [out, temb], when the block has a time embedding
  Conv2d conv_shortcut;  // 1x1, when in != out

  void name_weights(NamedWeights& list, const std::string& name, const ResnetShape& shape);

  // out [batch, h, w, out] for x [batch, h, w, in]; temb_silu [batch, temb] is silu(temb)
  // (undefined without a time embedding). out must not alias x or the buffers.
  void operator()(const Tensor& x, const Tensor& temb_silu, ResnetBuffers& buf, Tensor& out) const;
};

// The first numel values of a flat buffer, viewed as `shape`.
Tensor view_of(const Tensor& flat, const Shape& shape);

// The two flat buffers a forward passes its running image between: next() views the one
// the previous next() did not (the first call gives `first`), so a block writes its output
// beside its input.
class PingPong {
 public:
  PingPong(const Tensor& first, const Tensor& second) : buffers_{&first, &second} {}
  Tensor next(const Shape& shape) { return view_of(*buffers_[calls_++ % 2], shape); }

 private:
  std::array<const Tensor*, 2> buffers_;
  size_t calls_ = 0;
};

}  // namespace genrt::blocks
