// OPT's config parsing and the switches its goldens (model_golden_test.cpp) run through:
// which tensors each shape of the checkpoint has, and the errors of configs genrt cannot run.

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include <nlohmann/json.hpp>

#include "runtime/io/json_file.h"
#include "runtime/models/load_model.h"
#include "runtime/models/opt/opt_model.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

nlohmann::json tiny_config(const char* name) { return read_json_file(test::data_dir() / name / "config.json"); }

bool lists(const NamedWeights& weights, const std::string& name) {
  return std::any_of(weights.begin(), weights.end(), [&](const NamedWeight& w) { return w.name == name; });
}

TEST(Opt, EachShapeListsTheTensorsItsCheckpointHas) {
  OptWeights w;
  const OptConfig pre = opt_config_from_hf(tiny_config("tiny_opt"), "c.json");
  const NamedWeights pre_names = opt_named_weights(pre, w);
  EXPECT_TRUE(lists(pre_names, "final_layer_norm.weight"));
  EXPECT_FALSE(lists(pre_names, "project_in.weight"));

  const OptConfig post = opt_config_from_hf(tiny_config("tiny_opt_post_ln"), "c.json");
  EXPECT_FALSE(post.do_layer_norm_before);
  const NamedWeights post_names = opt_named_weights(post, w);
  EXPECT_FALSE(lists(post_names, "final_layer_norm.weight")) << "post-LN OPT has no final LayerNorm";
  EXPECT_TRUE(lists(post_names, "project_in.weight"));
  EXPECT_TRUE(lists(post_names, "project_out.weight"));
  EXPECT_FALSE(lists(post_names, "project_in.bias"));

  auto removed = tiny_config("tiny_opt");
  removed["_remove_final_layer_norm"] = true;
  EXPECT_FALSE(lists(opt_named_weights(opt_config_from_hf(removed, "c.json"), w), "final_layer_norm.weight"));
}

TEST(Opt, SpecCountsEveryParameterAndTheContextExcludesTheOffset) {
  const ModelSpec spec = read_model_spec(test::data_dir() / "tiny_opt_post_ln");
  EXPECT_EQ(spec.architecture, "OPTForCausalLM");
  EXPECT_EQ(spec.context_length, 64);  // the table has 66 rows
  OptWeights w;
  int64_t listed = 0;
  for (const NamedWeight& n : opt_named_weights(opt_config_from_hf(tiny_config("tiny_opt_post_ln"), "c"), w)) {
    listed += shape_numel(n.shape);
  }
  EXPECT_EQ(spec.parameter_count, listed);
}

TEST(Opt, PositionsPastTheTableAreRefused) {
  const auto model = load_causal_lm(test::data_dir() / "tiny_opt");
  EXPECT_ERROR(test::prefill_logits(*model, std::vector<int32_t>(65, 5)), "context");
}

TEST(Opt, HostileConfigsNameTheField) {
  const auto config = tiny_config("tiny_opt");
  auto broken = config;
  broken["num_attention_heads"] = 5;
  EXPECT_ERROR(opt_config_from_hf(broken, "c.json"), "hidden_size 48 is not divisible by num_attention_heads 5");
  broken = config;
  broken["activation_function"] = "gelu";
  EXPECT_ERROR(opt_config_from_hf(broken, "c.json"), "activation_function 'gelu' is not supported (OPT uses relu)");
  broken = config;
  broken["word_embed_proj_dim"] = 0;
  EXPECT_ERROR(opt_config_from_hf(broken, "c.json"), "word_embed_proj_dim = 0 must be positive");
  broken = config;
  broken["enable_bias"] = false;
  EXPECT_ERROR(opt_config_from_hf(broken, "c.json"), "enable_bias = false is not supported");
  broken = config;
  broken["do_layer_norm_before"] = "yes";
  EXPECT_ERROR(opt_config_from_hf(broken, "c.json"), "do_layer_norm_before");
  broken = config;
  broken.erase("ffn_dim");
  EXPECT_ERROR(opt_config_from_hf(broken, "c.json"), "missing required field 'ffn_dim'");
}

TEST(Opt, ACheckpointOfAnotherShapeIsRefused) {
  const test::TempDir dir;
  for (const char* file : {"model.safetensors", "config.json"}) {
    std::filesystem::copy(test::data_dir() / "tiny_opt_proj" / file, dir.path() / file);
  }
  auto config = tiny_config("tiny_opt_proj");
  config["word_embed_proj_dim"] = 48;  // the file's embedding is 32 wide and has projections
  std::ofstream(dir.path() / "config.json") << config.dump();
  EXPECT_ERROR(load_opt(dir.path()), "embed_tokens.weight");
}

}  // namespace
}  // namespace genrt
