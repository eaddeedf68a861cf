#include "runtime/models/unet/unet_transformer.h"

#include "runtime/backend/ops.h"
#include "runtime/models/blocks/attention.h"
#include "runtime/models/blocks/resnet.h"

namespace genrt {

namespace {

// diffusers fixes the Transformer2DModel's GroupNorm eps, and BasicTransformerBlock's
// LayerNorms keep their default, whatever the UNet's norm_eps says.
constexpr float kTransformerGroupNormEps = 1e-6f;
constexpr float kLayerNormEps = 1e-5f;

void name_self_attention(NamedWeights& list, const std::string& name, UnetSelfAttentionWeights& w, int64_t inner) {
  w.to_qkv.name_fused_weights(list, {{name + ".to_q", inner}, {name + ".to_k", inner}, {name + ".to_v", inner}}, inner,
                              false);
  w.to_out_0.name_weights(list, name + ".to_out.0", inner, inner, true);
}

void name_cross_attention(NamedWeights& list, const std::string& name, UnetCrossAttentionWeights& w, int64_t inner,
                          int64_t context_dim) {
  w.to_q.name_weights(list, name + ".to_q", inner, inner, false);
  w.to_kv.name_fused_weights(list, {{name + ".to_k", inner}, {name + ".to_v", inner}}, context_dim, false);
  w.to_out_0.name_weights(list, name + ".to_out.0", inner, inner, true);
}

// A projection whose weight is [out, in] or the [out, in, 1, 1] of a 1x1 convolution.
void project(const blocks::Linear& w, const Tensor& x, Tensor& out) {
  ops::linear(x, w.weight.reshape({w.weight.dim(0), w.weight.numel() / w.weight.dim(0)}), w.bias, out);
}

}  // namespace

void UnetTransformer2D::name_weights(NamedWeights& list, const std::string& name, const UnetTransformerShape& s) {
  shape = s;
  const int64_t c = s.channels;
  norm.name_weights(list, name + ".norm", c, s.groups, kTransformerGroupNormEps);
  const Shape projection = s.linear_projection ? Shape{c, c} : Shape{c, c, 1, 1};
  list.push_back({name + ".proj_in.weight", projection, &proj_in.weight});
  list.push_back({name + ".proj_in.bias", {c}, &proj_in.bias});
  transformer_blocks.resize(static_cast<size_t>(s.layers));
  for (int64_t l = 0; l < s.layers; ++l) {
    const std::string b = name + ".transformer_blocks." + std::to_string(l);
    UnetTransformerBlockWeights& w = transformer_blocks[l];
    w.norm1.name_weights(list, b + ".norm1", c);
    name_self_attention(list, b + ".attn1", w.attn1, c);
    w.norm2.name_weights(list, b + ".norm2", c);
    name_cross_attention(list, b + ".attn2", w.attn2, c, s.cross_attention_dim);
    w.norm3.name_weights(list, b + ".norm3", c);
    w.ff_net_0_proj.name_weights(list, b + ".ff.net.0.proj", c, 8 * c, true);
    w.ff_net_2.name_weights(list, b + ".ff.net.2", 4 * c, c, true);
  }
  list.push_back({name + ".proj_out.weight", projection, &proj_out.weight});
  list.push_back({name + ".proj_out.bias", {c}, &proj_out.bias});
}

void UnetTransformer2D::operator()(const Tensor& x, const Tensor& text, UnetTransformerBuffers& buf,
                                   Tensor& out) const {
  const int64_t batch = x.dim(0), c = shape.channels, rows = x.numel() / c, text_rows = text.dim(0);
  using blocks::view_of;
  Tensor image = view_of(buf.image, x.shape());
  norm(x, Tensor(), false, image);
  Tensor tokens = view_of(buf.tokens, {rows, c}), normed = view_of(buf.normed, {rows, c});
  Tensor branch = view_of(buf.branch, {rows, c});
  project(proj_in, image.reshape({rows, c}), tokens);

  const blocks::AttentionHeads heads{.heads = shape.heads, .kv_heads = shape.heads, .head_dim = c / shape.heads};
  auto split = [&](const Tensor& flat, int64_t n) { return view_of(flat, {n, heads.heads, heads.head_dim}); };
  // The cross-attention's k and v, then its q, take the buffer of the self-attention's q, k and v.
  blocks::AttentionBuffers self{.parts = blocks::attention_parts(buf.qkv, 3, rows, heads), .attn = split(buf.attn, rows)};
  const int64_t cross_kv = 2 * text_rows * c;
  blocks::AttentionBuffers cross{.parts = blocks::attention_parts(buf.qkv, 2, text_rows, heads),
                                 .q = split(buf.qkv.slice(cross_kv, buf.qkv.numel()), rows),
                                 .attn = self.attn};
  Tensor ff_proj = view_of(buf.ff_proj, {rows, 8 * c}), ff_act = view_of(buf.ff_act, {rows, 4 * c});
  for (size_t l = 0; l < transformer_blocks.size(); ++l) {
    const UnetTransformerBlockWeights& w = transformer_blocks[l];
    // Each block's first fused add takes the previous block's feed-forward output.
    if (l == 0) {
      ops::layernorm(tokens, w.norm1.weight, w.norm1.bias, kLayerNormEps, normed);
    } else {
      ops::add_layernorm(branch, tokens, w.norm1.weight, w.norm1.bias, kLayerNormEps, normed);
    }
    blocks::dense_self_attention({w.attn1.to_qkv, w.attn1.to_out_0}, heads, normed, batch, self, branch);
    ops::add_layernorm(branch, tokens, w.norm2.weight, w.norm2.bias, kLayerNormEps, normed);
    blocks::dense_cross_attention({w.attn2.to_q, w.attn2.to_kv, w.attn2.to_out_0}, heads, normed, text, batch, cross,
                                  branch);
    ops::add_layernorm(branch, tokens, w.norm3.weight, w.norm3.bias, kLayerNormEps, normed);
    w.ff_net_0_proj(normed, ff_proj);
    ops::geglu(ff_proj, ff_act);
    w.ff_net_2(ff_act, branch);
  }
  ops::add(tokens, branch, tokens);
  Tensor out_rows = out.reshape({rows, c});
  project(proj_out, tokens, out_rows);
  ops::add(out, x, out);
}

}  // namespace genrt
