// The CLIP text encoder against transformers' CLIPTextModel (tools/golden/clip.py): the
// last hidden state and diffusers' clip-skip embeddings of a prompt and an empty negative
// prompt, for SD 1.x's (quick-GELU, fp16, "text_model." names) and SD 2.x's (GELU, fp32,
// bare names) encoders, and the errors of broken encoder folders.

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "runtime/io/json_file.h"
#include "runtime/io/npy.h"
#include "runtime/models/clip/clip_text_model.h"
#include "runtime/tokenizer/clip_tokenizer.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

namespace fs = std::filesystem;

fs::path tiny_clip() { return test::data_dir() / "tiny_clip"; }

const nlohmann::json& golden() {
  static const nlohmann::json j = read_json_file(tiny_clip() / "golden.json");
  return j;
}

// fp32 on both sides, differing in summation order and libm. Hidden states are layer-norm
// outputs, O(1); over both encoders and all three outputs the largest differences measured
// are 3.3e-7 relative L2 and 1.5e-6 absolute, so 1e-5 for both leaves 7x headroom or more
// and still catches a wrong mask, activation or norm (non-causal attention moves the states
// by O(1)).
constexpr double kRelativeL2 = 1e-5;
constexpr float kAbsolute = 1e-5f;

Tensor ids_tensor(const std::vector<std::vector<int32_t>>& rows) {
  Tensor ids = Tensor::zeros({static_cast<int64_t>(rows.size()), static_cast<int64_t>(rows[0].size())}, DType::i32);
  for (size_t r = 0; r < rows.size(); ++r) {
    std::copy(rows[r].begin(), rows[r].end(), ids.data<int32_t>() + r * rows[r].size());
  }
  return ids;
}

void expect_matches(const Tensor& got, const fs::path& want_path, const std::string& what) {
  const Tensor want = read_npy(want_path);
  ASSERT_EQ(got.shape(), want.shape()) << what;
  const auto n = static_cast<size_t>(want.numel());
  const double rel = test::relative_l2(got.data<float>(), want.data<float>(), n);
  const float abs = test::max_abs_diff(got.data<float>(), want.data<float>(), n);
  EXPECT_LE(rel, kRelativeL2) << what;
  EXPECT_LE(abs, kAbsolute) << what;
  ::testing::Test::RecordProperty(what + "_rel_l2", fmt::format("{:.2e}", rel));
  ::testing::Test::RecordProperty(what + "_max_abs", fmt::format("{:.2e}", abs));
}

class ClipTextGolden : public ::testing::TestWithParam<const char*> {};

TEST_P(ClipTextGolden, HiddenStatesMatchTransformers) {
  const std::string variant = GetParam();
  const auto& g = golden().at(variant).at("encoder");
  const ClipTextModel model = load_clip_text_model(tiny_clip() / variant);
  const Tensor ids = ids_tensor(g.at("ids").get<std::vector<std::vector<int32_t>>>());
  ClipTextWorkspace ws = model.make_workspace(2);
  const std::pair<int64_t, const char*> outputs[] = {
      {0, "last_hidden_state"}, {1, "clip_skip_1"}, {2, "clip_skip_2"}};
  for (const auto& [clip_skip, key] : outputs) {
    expect_matches(model.forward(ids, clip_skip, ws), tiny_clip() / g.at(key).get<std::string>(),
                   variant + "_" + key);
  }
}

// The ids of the golden run are what the tokenizer of the same folder makes of its prompts.
TEST_P(ClipTextGolden, TokenizerGivesTheEncodersIds) {
  const auto& g = golden().at(GetParam()).at("encoder");
  const ClipTokenizer tok = ClipTokenizer::open(tiny_clip() / GetParam() / "tokenizer");
  const auto prompts = g.at("prompts").get<std::vector<std::string>>();
  const auto ids = g.at("ids").get<std::vector<std::vector<int32_t>>>();
  ASSERT_EQ(prompts.size(), ids.size());
  for (size_t i = 0; i < prompts.size(); ++i) EXPECT_EQ(tok.encode(prompts[i]).ids, ids[i]) << prompts[i];
}

INSTANTIATE_TEST_SUITE_P(Encoders, ClipTextGolden, ::testing::Values("sd1", "sd2"));

// Each prompt attends only to its own tokens: alone, or in a batch, or shorter than 77
// tokens, its hidden states are the same (the causal mask makes a prefix independent of
// what follows it).
TEST(ClipText, PromptsAreIndependentOfBatchAndLength) {
  const ClipTextModel model = load_clip_text_model(tiny_clip() / "sd1" / "text_encoder");
  const auto rows = golden().at("sd1").at("encoder").at("ids").get<std::vector<std::vector<int32_t>>>();
  ClipTextWorkspace ws = model.make_workspace(2);
  // The first prompt's states, copied out of the workspace the next forward overwrites.
  auto first = [&](const std::vector<std::vector<int32_t>>& ids) {
    const Tensor states = model.forward(ids_tensor(ids), 0, ws).select(0);
    return std::vector<float>(states.data<float>(), states.data<float>() + states.numel());
  };
  const std::vector<float> both = first(rows), alone = first({rows[0]});
  EXPECT_EQ(alone, both);
  const std::vector<float> shorter = first({std::vector<int32_t>(rows[0].begin(), rows[0].begin() + 10)});
  ASSERT_EQ(shorter.size(), 10 * static_cast<size_t>(model.config().hidden_size));
  EXPECT_LE(test::max_abs_diff(shorter.data(), both.data(), shorter.size()), 1e-6f);
}

TEST(ClipText, ForwardRefusesWhatTheModelCannotTake) {
  const ClipTextModel model = load_clip_text_model(tiny_clip() / "sd2");
  ClipTextWorkspace ws = model.make_workspace(1);
  const auto row = golden().at("sd2").at("encoder").at("ids")[0].get<std::vector<int32_t>>();
  EXPECT_ERROR(model.forward(ids_tensor({row, row}), 0, ws), "batch 2 outside the workspace's 1..1");
  EXPECT_ERROR(model.forward(ids_tensor({row}), 3, ws), "clip skip 3 must leave at least one of its 3 layers");
  std::vector<int32_t> long_row = row;
  long_row.push_back(0);
  EXPECT_ERROR(model.forward(ids_tensor({long_row}), 0, ws), "78 tokens, but the model has 77 positions");
  std::vector<int32_t> bad = row;
  bad[5] = static_cast<int32_t>(model.config().vocab_size);
  EXPECT_ERROR(model.forward(ids_tensor({bad}), 0, ws), "token id 724 is outside its vocabulary of 724");
}

// A copy of a variant's text_encoder/ folder whose config.json `edit` changes.
template <class Edit>
fs::path edited_encoder(const test::TempDir& tmp, const char* variant, Edit edit) {
  const fs::path dir = tmp / "text_encoder";
  fs::create_directories(dir);
  for (const auto& entry : fs::directory_iterator(tiny_clip() / variant / "text_encoder")) {
    fs::copy_file(entry.path(), dir / entry.path().filename());
  }
  nlohmann::json config = read_json_file(dir / "config.json");
  edit(config);
  test::write_file(dir / "config.json", config.dump());
  return dir;
}

TEST(ClipText, BrokenEncoderFoldersAreClearErrors) {
  {
    test::TempDir tmp;
    const fs::path dir = edited_encoder(tmp, "sd1", [](auto& c) { c["hidden_size"] = 64; });
    EXPECT_ERROR(load_clip_text_model(dir), "tensor 'text_model.embeddings.token_embedding.weight' has shape "
                                            "[724, 32], but " + (dir / "config.json").string() + " implies [724, 64]");
  }
  {
    test::TempDir tmp;
    const fs::path dir = edited_encoder(tmp, "sd2", [](auto& c) { c["num_hidden_layers"] = 4; });
    EXPECT_ERROR(load_clip_text_model(dir), "missing tensor 'encoder.layers.3.layer_norm1.weight'");
  }
  {
    test::TempDir tmp;
    const fs::path dir = edited_encoder(tmp, "sd2", [](auto& c) { c["hidden_act"] = "relu"; });
    EXPECT_ERROR(load_clip_text_model(dir), "hidden_act 'relu' is not supported");
  }
  {
    test::TempDir tmp;
    const fs::path dir = edited_encoder(tmp, "sd2", [](auto& c) { c["num_attention_heads"] = 5; });
    EXPECT_ERROR(load_clip_text_model(dir), "hidden_size 32 is not divisible by 5 heads");
  }
  {
    test::TempDir tmp;
    const fs::path dir =
        edited_encoder(tmp, "sd2", [](auto& c) { c["architectures"] = {"CLIPVisionModelWithProjection"}; });
    EXPECT_ERROR(load_clip_text_model(dir), "architectures [\"CLIPVisionModelWithProjection\"] is not supported");
  }
  {
    // A config that says CLIPTextModelWithProjection over a checkpoint without the projection.
    test::TempDir tmp;
    const fs::path dir =
        edited_encoder(tmp, "sd2", [](auto& c) { c["architectures"] = {"CLIPTextModelWithProjection"}; });
    EXPECT_ERROR(load_clip_text_model(dir), "missing tensor 'text_projection.weight'");
  }
  {
    test::TempDir tmp;
    EXPECT_ERROR(load_clip_text_model(tmp.path()), "no config.json (nor text_encoder/config.json)");
  }
}

// The GPU plan is made, and refused, without a device.
TEST(ClipText, MemoryRequestCountsTheWeightsAndRefusesWhatTheGpuCannotRun) {
  const ClipTextModel model = load_clip_text_model(tiny_clip() / "sd1");
  ClipTextWeights listed;
  int64_t parameters = 0;
  for (const NamedWeight& w : clip_text_named_weights(model.config(), listed)) parameters += shape_numel(w.shape);
  EXPECT_EQ(model.config().parameter_count(), parameters);
  const MemoryRequest request = model.memory_request({.dtype = DType::bf16, .max_batch = 2});
  EXPECT_GE(request.weight_bytes, static_cast<uint64_t>(2 * parameters));
  EXPECT_GT(request.persistent_bytes, 0u);
  EXPECT_GT(request.workspace_bytes, 0u);
  EXPECT_ERROR(model.memory_request({.dtype = DType::f32}), "--dtype f32: the GPU runs models in bf16 or f16");
  ClipTextConfig wide = model.config();
  wide.num_attention_heads = 1;
  wide.hidden_size = 576;
  EXPECT_ERROR(ClipTextModel(wide, {}).memory_request({}), "supports head_dim from 1 to 512, got 576");
}

}  // namespace
}  // namespace genrt
