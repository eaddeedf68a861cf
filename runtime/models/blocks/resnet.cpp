#include "runtime/models/blocks/resnet.h"

#include "runtime/backend/ops.h"

namespace genrt::blocks {

Tensor view_of(const Tensor& flat, const Shape& shape) {
  const int64_t n = shape_numel(shape);
  GENRT_CHECK(flat.rank() == 1 && n <= flat.numel(), "a buffer of {} values cannot hold {}", flat.numel(),
              shape_string(shape));
  return flat.slice(0, n).reshape(shape);
}

void ResnetBlock2D::name_weights(NamedWeights& list, const std::string& name, const ResnetShape& s) {
  norm1.name_weights(list, name + ".norm1", s.in_channels, s.groups, s.eps);
  conv1.name_weights(list, name + ".conv1", s.in_channels, s.out_channels, 3, same_padding(3));
  if (s.temb_channels > 0) time_emb_proj.name_weights(list, name + ".time_emb_proj", s.temb_channels, s.out_channels, true);
  norm2.name_weights(list, name + ".norm2", s.out_channels, s.groups, s.eps);
  conv2.name_weights(list, name + ".conv2", s.out_channels, s.out_channels, 3, same_padding(3));
  if (s.in_channels != s.out_channels) {
    conv_shortcut.name_weights(list, name + ".conv_shortcut", s.in_channels, s.out_channels, 1);
  }
}

void ResnetBlock2D::operator()(const Tensor& x, const Tensor& temb_silu, ResnetBuffers& buf, Tensor& out) const {
  Shape shape = x.shape();
  Tensor normed = view_of(buf.normed, shape);
  norm1(x, Tensor(), true, normed);
  shape.back() = conv1.out_channels();
  Tensor hidden = view_of(buf.hidden, shape);
  conv1(normed, hidden);
  Tensor channel_add;
  if (time_emb_proj.weight.defined()) {
    channel_add = view_of(buf.channel_add, {shape[0], shape.back()});
    time_emb_proj(temb_silu, channel_add);
  }
  normed = view_of(buf.normed, shape);
  norm2(hidden, channel_add, true, normed);
  conv2(normed, out);
  if (conv_shortcut.weight.defined()) {
    conv_shortcut(x, hidden);  // conv1's output is spent
    ops::add(out, hidden, out);
  } else {
    ops::add(out, x, out);
  }
}

}  // namespace genrt::blocks
