#pragma once
// diffusers' Transformer2DModel as the UNet's CrossAttn blocks use it, over NHWC images whose
// pixels are its tokens: GroupNorm, a projection in, BasicTransformerBlocks (self-attention,
// cross-attention to the text states, a GEGLU feed-forward, each pre-LayerNorm with a
// residual), a projection out, and a residual around it all.

#include <string>
#include <vector>

#include "runtime/models/blocks/linear.h"
#include "runtime/models/blocks/norms.h"

namespace genrt {

// The projections have no biases but to_out_0's [inner, inner].
struct UnetSelfAttentionWeights {
  blocks::Linear to_qkv;  // [3 inner, inner]: to_q, to_k and to_v fused
  blocks::Linear to_out_0;
};

struct UnetCrossAttentionWeights {
  blocks::Linear to_q;   // [inner, inner]
  blocks::Linear to_kv;  // [2 inner, cross_attention_dim]: to_k and to_v of the text, fused
  blocks::Linear to_out_0;
};

struct UnetTransformerBlockWeights {
  blocks::LayerNorm norm1, norm2, norm3;
  UnetSelfAttentionWeights attn1;
  UnetCrossAttentionWeights attn2;
  blocks::Linear ff_net_0_proj;  // [8 inner, inner]: GEGLU's value | gate
  blocks::Linear ff_net_2;       // [inner, 4 inner]
};

struct UnetTransformerShape {
  int64_t channels = 0;  // in and inner: heads * head_dim
  int64_t heads = 0;
  int64_t layers = 1;
  int64_t cross_attention_dim = 0;
  int64_t groups = 32;
  bool linear_projection = false;  // proj_in/out are Linear layers (SD 2.x), not 1x1 convolutions
};

// The activation buffers of one forward, flat, each at least as large as the largest
// Transformer2D of the model needs (rows = batch * pixels): tokens, normed, branch and attn
// rows * channels; qkv max(3 rows, 2 batch * text tokens + rows) * channels (the
// self-attention's q, k and v, then the cross-attention's k and v and its q); ff_proj
// rows * 8 channels; ff_act rows * 4 channels; and `image` (the GroupNorm's output)
// rows * channels.
struct UnetTransformerBuffers {
  Tensor image, tokens, normed, branch, qkv, attn, ff_proj, ff_act;
};

struct UnetTransformer2D {
  blocks::GroupNorm norm;
  // [inner, channels] (Linear) or [inner, channels, 1, 1] (1x1 Conv2d): the same matrix.
  blocks::Linear proj_in, proj_out;
  std::vector<UnetTransformerBlockWeights> transformer_blocks;
  UnetTransformerShape shape;

  void name_weights(NamedWeights& list, const std::string& name, const UnetTransformerShape& shape);

  // out [batch, h, w, channels] for x like it and text [batch * text_tokens, cross_dim];
  // out must not alias x or the buffers.
  void operator()(const Tensor& x, const Tensor& text, UnetTransformerBuffers& buf, Tensor& out) const;
};

}  // namespace genrt
