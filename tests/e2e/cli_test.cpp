// The genrt command line, run as a user would: outputs, exit codes and error messages.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "runtime/core/device.h"
#include "runtime/io/json_file.h"
#include "runtime/io/npy.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

struct CliRun {
  int exit_code = -1;
  std::string output;  // stdout
  std::string errors;  // stderr
};

// Runs `PROGRAM ARGS`, with `input` on its stdin.
CliRun run_program(const std::string& program, const std::string& args, const std::string& input = "") {
  test::TempDir dir;
  test::write_file(dir / "stdin", input);
  const std::string command =
      program + " " + args + " <" + (dir / "stdin").string() + " 2>" + (dir / "stderr").string();
  CliRun run;
  FILE* pipe = ::popen(command.c_str(), "r");
  std::array<char, 4096> buffer{};
  size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) run.output.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream err(dir / "stderr");
  run.errors.assign(std::istreambuf_iterator<char>(err), {});
  return run;
}

// Runs `genrt ARGS`, with `input` on its stdin.
CliRun run_cli(const std::string& args, const std::string& input = "") { return run_program(GENRT_CLI, args, input); }

std::string stories() { return (test::shared_dir() / "models" / "stories260K.bin").string(); }

TEST(Cli, StoriesGreedyJsonMatchesTheTransformersGolden) {
  const CliRun run = run_cli("generate --model " + stories() +
                          " --prompt-ids 1 --max-tokens 64 --temperature 0 --json");
  ASSERT_EQ(run.exit_code, 0) << run.errors;
  const auto out = nlohmann::json::parse(run.output);
  const auto golden = read_json_file(test::data_dir() / "stories260K_golden.json");
  EXPECT_EQ(out.at("token_ids"), golden.at("greedy"));
  EXPECT_EQ(out.at("prompt_tokens"), 1);
  EXPECT_EQ(out.at("generated_tokens"), 64);
  EXPECT_TRUE(out.at("text").is_null());  // no tokenizer beside the checkpoint
  EXPECT_GE(out.at("ttft_ms").get<double>(), 0.0);
  EXPECT_GT(out.at("tokens_per_s").get<double>(), 0.0);
}

TEST(Cli, InitModelThenGenerateTextIsLabelledGibberish) {
  test::TempDir dir;
  const CliRun init = run_cli("init-model --arch llama --preset tiny --seed 3 --out " + (dir / "m").string());
  ASSERT_EQ(init.exit_code, 0) << init.errors;
  EXPECT_NE(init.output.find("RANDOM WEIGHTS"), std::string::npos);

  const std::string gen = "generate --model " + (dir / "m").string() +
                          " --prompt 'Once upon a time' --max-tokens 12 --seed 5 --ignore-eos";
  const CliRun a = run_cli(gen + " --json");
  const CliRun b = run_cli(gen + " --json");
  ASSERT_EQ(a.exit_code, 0) << a.errors;
  const auto out = nlohmann::json::parse(a.output);
  EXPECT_EQ(out.at("token_ids"), nlohmann::json::parse(b.output).at("token_ids"));  // same seed
  EXPECT_EQ(out.at("generated_tokens"), 12);
  EXPECT_TRUE(out.at("text").is_string());
  EXPECT_EQ(out.at("random_weights"), true);
  EXPECT_NE(a.errors.find("gibberish"), std::string::npos);

  const CliRun streamed = run_cli(gen);
  ASSERT_EQ(streamed.exit_code, 0) << streamed.errors;
  EXPECT_NE(streamed.errors.find("[genrt] prompt"), std::string::npos);
  EXPECT_NE(streamed.errors.find("generated 12 tokens"), std::string::npos);
  EXPECT_NE(streamed.errors.find("tokens/s"), std::string::npos);

  const CliRun info = run_cli("info --model " + (dir / "m").string());
  ASSERT_EQ(info.exit_code, 0) << info.errors;
  EXPECT_NE(info.output.find("LlamaForCausalLM"), std::string::npos);
  EXPECT_NE(info.output.find("gibberish"), std::string::npos);
  EXPECT_NE(info.output.find("BF16"), std::string::npos);

  const CliRun again = run_cli("init-model --preset tiny --out " + (dir / "m").string());
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.errors.find("already holds a model"), std::string::npos);
}

TEST(Cli, TokenizeMatchesTheTokenizersLibrary) {
  const auto golden = read_json_file(test::data_dir() / "tokenizers" / "bytelevel" / "golden.json");
  const auto& c = golden.at("cases").at(0);  // "Hello world"
  const CliRun run = run_cli("tokenize --tokenizer " + (test::data_dir() / "tokenizers" / "bytelevel").string() +
                             " --text 'Hello world' --json");
  ASSERT_EQ(run.exit_code, 0) << run.errors;
  const auto out = nlohmann::json::parse(run.output);
  EXPECT_EQ(out.at("ids"), c.at("ids_with_special"));
  EXPECT_EQ(out.at("pieces").size(), out.at("ids").size());
  const CliRun plain = run_cli("tokenize --tokenizer " + (test::shared_dir() / "tokenizers" / "gpt2" / "tokenizer.json").string() +
                               " --text 'Hello world'");
  EXPECT_NE(plain.output.find("\"\u0120world\""), std::string::npos) << plain.output;  // "Ġworld"
  EXPECT_NE(plain.output.find("2 tokens"), std::string::npos);
}

TEST(Cli, ChatThroughTheModelsTemplate) {
  test::TempDir dir;
  ASSERT_EQ(run_cli("init-model --preset tiny --out " + (dir / "m").string()).exit_code, 0);
  const CliRun run = run_cli("chat --model " + (dir / "m").string() + " --max-tokens 4 --seed 1 --system 'Be brief.'",
                             "Hi\nAgain\n");
  ASSERT_EQ(run.exit_code, 0) << run.errors;
  EXPECT_NE(run.errors.find("chat format llama3"), std::string::npos) << run.errors;
  // Two turns; the second re-reads the first (system + 2 user turns + 1 reply).
  const size_t first = run.errors.find("[genrt] prompt ");
  ASSERT_NE(first, std::string::npos);
  EXPECT_NE(run.errors.find("[genrt] prompt ", first + 1), std::string::npos);
  const CliRun named = run_cli("chat --model " + (dir / "m").string() + " --chat-template chatml --max-tokens 2");
  EXPECT_EQ(named.exit_code, 0) << named.errors;
  EXPECT_NE(named.errors.find("chat format chatml"), std::string::npos);
}

TEST(Cli, SameSeedSameSampledTokens) {
  const std::string args = "generate --model " + stories() +
                           " --prompt-ids 1,400 --max-tokens 20 --temperature 0.9 --top-p 0.9 --seed 11 --json";
  const CliRun a = run_cli(args), b = run_cli(args);
  ASSERT_EQ(a.exit_code, 0) << a.errors;
  EXPECT_EQ(nlohmann::json::parse(a.output).at("token_ids"), nlohmann::json::parse(b.output).at("token_ids"));
}

// The issue's command line on diffusers' golden: the same latents as DiTPipeline from the
// same initial noise (tolerance as in DitGolden: 10 fp32 steps with guidance 4).
TEST(Cli, DiffuseReproducesTheDiffusersPipeline) {
  test::TempDir dir;
  const CliRun run = run_cli("diffuse --model " + (test::data_dir() / "tiny_dit").string() +
                             " --class-label 1,207 --steps 10 --guidance 4.0 --scheduler ddim --init-noise " +
                             (test::data_dir() / "dit_init_noise.npy").string() + " --out " +
                             (dir / "latents.npy").string() + " --preview " + (dir / "preview.png").string());
  ASSERT_EQ(run.exit_code, 0) << run.errors;
  EXPECT_NE(run.errors.find("10/10"), std::string::npos) << run.errors;  // the progress bar
  EXPECT_NE(run.errors.find("10 steps in"), std::string::npos) << run.errors;
  EXPECT_NE(run.output.find("wrote " + (dir / "preview.png").string() + ": 128x64 preview"), std::string::npos)
      << run.output;
  const Tensor latents = read_npy(dir / "latents.npy");
  const nlohmann::json golden = read_json_file(test::data_dir() / "dit_golden.json").at("pipeline");
  const auto want = golden.at("latents").get<std::vector<float>>();
  ASSERT_EQ(latents.shape(), Shape({2, 4, 8, 8}));
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_NEAR(latents.data<float>()[i], want[i], 5e-3 * (1 + std::abs(want[i]))) << i;
  }
}

TEST(Cli, InitModelDitThenDiffuseWithEveryScheduler) {
  test::TempDir dir;
  const std::string model = (dir / "dit").string();
  const CliRun init = run_cli("init-model --arch dit --preset tiny --out " + model);
  ASSERT_EQ(init.exit_code, 0) << init.errors;
  EXPECT_NE(init.output.find("RANDOM WEIGHTS"), std::string::npos);
  for (const char* scheduler : {"ddpm", "ddim", "euler", "dpm++2m", "dpm++2m-karras", "flow-euler"}) {
    const CliRun run = run_cli("diffuse --model " + model + " --class-label 3 --batch 2 --steps 2 --scheduler " +
                               scheduler + " --out " + (dir / "out.npy").string());
    EXPECT_EQ(run.exit_code, 0) << scheduler << ": " << run.errors;
    EXPECT_NE(run.errors.find("RANDOM WEIGHTS"), std::string::npos);
    EXPECT_EQ(read_npy(dir / "out.npy").shape(), Shape({2, 4, 32, 32})) << scheduler;
  }
}

// The issue's command line on diffusers' golden: the same final latents as
// StableDiffusionPipeline from the same noise (tolerance as in SdGolden), and a PNG.
TEST(Cli, Txt2imgReproducesTheDiffusersPipeline) {
  test::TempDir dir;
  const auto sd1 = test::data_dir() / "tiny_sd" / "sd1";
  const CliRun run = run_cli("txt2img --model " + sd1.string() +
                             " --prompt 'a photo of a cat' --negative-prompt blurry --steps 4 --guidance 7.5 "
                             "--scheduler euler --width 16 --height 16 --init-noise " +
                             (sd1 / "init_noise.npy").string() + " --out " + (dir / "cat.png").string() +
                             " --out-latents " + (dir / "cat.npy").string());
  ASSERT_EQ(run.exit_code, 0) << run.errors;
  EXPECT_NE(run.errors.find("4/4"), std::string::npos) << run.errors;  // the progress bar
  EXPECT_NE(run.errors.find("it/s"), std::string::npos) << run.errors;
  EXPECT_NE(run.output.find("wrote " + (dir / "cat.png").string() + ": 16x16"), std::string::npos) << run.output;
  std::ifstream png(dir / "cat.png", std::ios::binary);
  std::string signature(8, '\0');
  png.read(signature.data(), 8);
  EXPECT_EQ(signature, "\x89PNG\r\n\x1a\n");
  const Tensor latents = read_npy(dir / "cat.npy"), want = read_npy(sd1 / "pipe_euler_latents.npy");
  ASSERT_EQ(latents.shape(), want.shape());
  for (int64_t i = 0; i < want.numel(); ++i) {
    ASSERT_NEAR(latents.data<float>()[i], want.data<float>()[i], 1e-3 * (1 + std::abs(want.data<float>()[i]))) << i;
  }
}

// Image to image on diffusers' golden (StableDiffusionImg2ImgPipeline, strength 0.75 of 4
// steps from the saved noise): the same final latents, and the PNG says the strength.
TEST(Cli, Txt2imgFromAnInitImageReproducesTheDiffusersPipeline) {
  test::TempDir dir;
  const auto sd1 = test::data_dir() / "tiny_sd" / "sd1";
  const CliRun run = run_cli("txt2img --model " + sd1.string() +
                             " --prompt 'a photo of a cat' --negative-prompt blurry --steps 4 --guidance 7.5 "
                             "--scheduler dpm++2m --init-image " + (sd1 / "img2img_image.png").string() +
                             " --strength 0.75 --init-noise " + (sd1 / "img2img_noise.npy").string() + " --out " +
                             (dir / "cat.png").string() + " --out-latents " + (dir / "cat.npy").string());
  ASSERT_EQ(run.exit_code, 0) << run.errors;
  EXPECT_NE(run.errors.find("at strength 0.75"), std::string::npos) << run.errors;
  EXPECT_NE(run.errors.find("3/3"), std::string::npos) << run.errors;  // the last 3 of 4 steps
  EXPECT_NE(run.output.find("wrote " + (dir / "cat.png").string() + ": 16x16"), std::string::npos) << run.output;
  const Tensor latents = read_npy(dir / "cat.npy"), want = read_npy(sd1 / "img2img_dpmpp2m_latents.npy");
  ASSERT_EQ(latents.shape(), want.shape());
  for (int64_t i = 0; i < want.numel(); ++i) {
    ASSERT_NEAR(latents.data<float>()[i], want.data<float>()[i], 1e-3 * (1 + std::abs(want.data<float>()[i]))) << i;
  }
  std::ifstream png(dir / "cat.png", std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(png)), std::istreambuf_iterator<char>());
  EXPECT_NE(bytes.find("Denoising strength: 0.75"), std::string::npos);
}

TEST(Cli, InitModelSdThenTxt2imgWritesABatch) {
  test::TempDir dir;
  const std::string model = (dir / "sd").string();
  const CliRun init = run_cli("init-model --arch sd --preset tiny --out " + model);
  ASSERT_EQ(init.exit_code, 0) << init.errors;
  EXPECT_NE(init.output.find("RANDOM WEIGHTS"), std::string::npos);
  const CliRun run = run_cli("txt2img --model " + model + " --prompt 'a red cube' --steps 2 --scheduler euler-a " +
                             "--seed 5 --batch 2 --out " + (dir / "cube.png").string());
  ASSERT_EQ(run.exit_code, 0) << run.errors;
  EXPECT_NE(run.errors.find("RANDOM WEIGHTS"), std::string::npos);
  for (const char* name : {"cube-0.png", "cube-1.png"}) {
    EXPECT_NE(run.output.find("wrote " + (dir / name).string() + ": 64x64"), std::string::npos) << run.output;
    EXPECT_TRUE(std::filesystem::exists(dir / name)) << name;
  }
  // init-model writes the VAE's encoder too: an image of the batch starts another run.
  const CliRun again = run_cli("txt2img --model " + model + " --prompt 'a blue cube' --steps 2 --seed 5 --init-image " +
                               (dir / "cube-0.png").string() + " --strength 1 --out " + (dir / "again.png").string());
  ASSERT_EQ(again.exit_code, 0) << again.errors;
  EXPECT_NE(again.output.find("wrote " + (dir / "again.png").string() + ": 64x64"), std::string::npos) << again.output;
}

TEST(Cli, InitModelTinyXlThenTxt2imgMakesAnSdxlImage) {
  test::TempDir dir;
  const std::string model = (dir / "sdxl").string();
  const CliRun init = run_cli("init-model --arch sd --preset tiny-xl --out " + model);
  ASSERT_EQ(init.exit_code, 0) << init.errors;
  for (const char* part : {"text_encoder_2/model.safetensors", "tokenizer_2/vocab.json", "model_index.json"}) {
    EXPECT_TRUE(std::filesystem::exists(dir / "sdxl" / part)) << part;
  }
  const CliRun run = run_cli("txt2img --model " + model + " --prompt 'a red cube' --steps 2 --seed 5 --out " +
                             (dir / "cube.png").string());
  ASSERT_EQ(run.exit_code, 0) << run.errors;
  EXPECT_NE(run.output.find("wrote " + (dir / "cube.png").string() + ": 64x64"), std::string::npos) << run.output;
}

TEST(Cli, CudaWithoutADeviceNamesTheCudaError) {
  if (cuda_device_count() > 0) GTEST_SKIP() << "a CUDA device is present: the GPU tests cover --device cuda";
  for (const std::string& command : {"generate --model " + stories() + " --prompt-ids 1 --device cuda",
                                     "diffuse --model " + (test::data_dir() / "tiny_dit").string() + " --class-label 1 --device cuda"}) {
    const CliRun run = run_cli(command);
    EXPECT_NE(run.exit_code, 0) << command;
    EXPECT_NE(run.errors.find("--device cuda: " + cuda_unavailable_reason()), std::string::npos) << run.errors;
  }
}

TEST(Cli, BenchOnTheCpuWritesCheckedLinesThenAReportAndPlot) {
  test::TempDir dir;
  const auto results = dir / "results.jsonl";
  const CliRun run = run_cli("bench norm --device cpu --shapes 4x64,3x100 --min-reps 3 --max-seconds 0.05 --json " +
                             results.string());
  ASSERT_EQ(run.exit_code, 0) << run.errors;
  EXPECT_NE(run.errors.find("[bench] norm"), std::string::npos) << run.errors;
  std::ifstream in(results);
  std::string text;
  int lines = 0;
  while (std::getline(in, text)) {
    const nlohmann::json line = nlohmann::json::parse(text);
    EXPECT_TRUE(line["check"]["ok"].get<bool>()) << text;
    for (const char* field : {"median_ms", "p10_ms", "p90_ms", "value", "fraction_of_peak", "device_name", "commit"}) {
      EXPECT_TRUE(line.contains(field)) << field;
    }
    ++lines;
  }
  EXPECT_EQ(lines, 10);  // five norms at two shapes
  const CliRun report = run_cli("bench report " + results.string() + " --plot " + (dir / "plot.png").string() +
                                " --out " + (dir / "report.md").string());
  ASSERT_EQ(report.exit_code, 0) << report.errors;
  EXPECT_NE(test::read_file(dir / "report.md").find("| modulated_layernorm dim=100 rows=3 | f32 |"), std::string::npos);
  EXPECT_GT(std::filesystem::file_size(dir / "plot.png"), 1000u);
}

TEST(Cli, BenchReportPlotWithoutGenrtPlotBesideItSaysWhereToDrawIt) {
  test::TempDir dir;
  const auto genrt = dir / "genrt";  // alone, as in the GPU machine's bundle
  std::filesystem::copy_file(GENRT_CLI, genrt);
  const auto results = dir / "results.jsonl";
  test::write_file(results, R"({"suite": "norm", "case": "rmsnorm", "x": 8, "value": 1.0})" "\n");
  const CliRun run = run_program(genrt.string(), "bench report " + results.string() + " --plot " +
                                                     (dir / "plot.png").string());
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.output.find("## norm"), std::string::npos) << run.output;  // the table still comes
  EXPECT_NE(run.errors.find("--plot: no genrt-plot beside " + genrt.string()), std::string::npos) << run.errors;
  EXPECT_NE(run.errors.find("genrt-plot " + results.string() + " --out "), std::string::npos) << run.errors;
  EXPECT_FALSE(std::filesystem::exists(dir / "plot.png"));
}

TEST(Cli, BenchWithoutAGpuSaysSo) {
  if (cuda_device_count() > 0) GTEST_SKIP() << "a CUDA device is present";
  const CliRun run = run_cli("bench norm");
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.errors.find("genrt bench needs a GPU (--device cuda): " + cuda_unavailable_reason() +
                            "; pass --device cpu"),
            std::string::npos)
      << run.errors;
}

TEST(Cli, HelpForEveryCommand) {
  for (const char* command :
       {"", "generate ", "chat ", "diffuse ", "txt2img ", "tokenize ", "info ", "init-model ", "bench ", "bench report ", "embed ",
        "fill-mask "}) {
    const CliRun run = run_cli(std::string(command) + "--help");
    EXPECT_EQ(run.exit_code, 0) << command;
    EXPECT_NE(run.output.find("Usage"), std::string::npos) << command;
  }
}

struct BadInvocation {
  const char* args;
  const char* error;
};

class CliErrors : public ::testing::TestWithParam<BadInvocation> {};

TEST_P(CliErrors, ExitNonZeroWithAMessage) {
  std::string args = GetParam().args;
  for (const auto& [marker, path] : {std::pair<std::string, std::string>{"STORIES", stories()},
                                     std::pair<std::string, std::string>{"DATA", test::data_dir().string()}}) {
    for (size_t at; (at = args.find(marker)) != std::string::npos;) args.replace(at, marker.size(), path);
  }
  const CliRun run = run_cli(args);
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.errors.find(GetParam().error), std::string::npos) << run.errors;
}

INSTANTIATE_TEST_SUITE_P(
    Table, CliErrors,
    ::testing::Values(
        BadInvocation{"", "A subcommand is required"},
        BadInvocation{"generate --model STORIES --prompt-ids 1 --bogus", "--bogus"},
        BadInvocation{"generate --model /nonexistent --prompt-ids 1", "model path /nonexistent does not exist"},
        BadInvocation{"generate --model STORIES", "--prompt or --prompt-ids"},
        BadInvocation{"generate --model STORIES --prompt hi", "--prompt needs a tokenizer"},
        BadInvocation{"generate --model STORIES --prompt-ids 1,x", "'x' is not a token id"},
        BadInvocation{"generate --model STORIES --prompt-ids 1,9999", "prompt token id 9999 is outside the vocabulary"},
        BadInvocation{"generate --model STORIES --prompt-ids 1 --top-p 2", "top_p must be in (0, 1]"},
        BadInvocation{"generate --model STORIES --prompt-ids 1 --device tpu", "unknown device 'tpu'"},
        BadInvocation{"generate --model STORIES --prompt-ids 1 --dtype fp8", "--dtype fp8: expected bf16 or fp16"},
        BadInvocation{"generate --model STORIES --prompt-ids 1 --log-level loud", "unknown log level 'loud'"},
        BadInvocation{"info --model /nonexistent", "does not exist"},
        BadInvocation{"init-model --preset huge --out /tmp/genrt_never", "unknown preset 'huge'"},
        BadInvocation{"init-model --arch gpt2 --out /tmp/genrt_never", "init-model supports llama, dit and sd"},
        BadInvocation{"init-model --arch sd --preset huge --out /tmp/genrt_never",
                      "unknown Stable Diffusion preset 'huge': expected one of sd15, sd21, sdxl, tiny, tiny-xl"},
        BadInvocation{"serve --model STORIES --vae-tiling", "is not a Stable Diffusion pipeline folder, whose VAE"},
        BadInvocation{"txt2img --model DATA/tiny_sd/sd1", "--prompt is required"},
        BadInvocation{"txt2img --model DATA/tiny_dit --prompt hi", "no tokenizer/ folder: not a Stable Diffusion"},
        BadInvocation{"txt2img --model DATA/tiny_sd/sd1 --prompt hi --width 18", "image size 18x16"},
        BadInvocation{"txt2img --model DATA/tiny_sd/sd1 --prompt hi --scheduler lms", "unknown scheduler 'lms'"},
        BadInvocation{"txt2img --model DATA/tiny_sd/sd1 --prompt hi --batch 0", "--batch 0: generate at least one"},
        BadInvocation{"txt2img --model DATA/tiny_sd/sd1 --prompt hi --init-image x.png", "x.png: no such file"},
        BadInvocation{"txt2img --model DATA/tiny_sd/sd1 --prompt hi --init-image DATA/tiny_sd/sd1/model_index.json",
                      "model_index.json: not a readable PNG"},
        BadInvocation{"txt2img --model DATA/tiny_sd/sd1 --prompt hi --strength 0.5",
                      "--strength: it says how much of --init-image to redraw"},
        BadInvocation{"txt2img --model DATA/tiny_sd/sd1 --prompt hi --init-image DATA/tiny_sd/sd1/img2img_image.png "
                      "--strength 0.1 --steps 4",
                      "strength 0.1 of 4 steps runs no step"},
        BadInvocation{"txt2img --model DATA/tiny_sd/sd1 --prompt hi --vae-tiling --width 32 --height 32 --init-image "
                      "DATA/tiny_sd/sd1/img2img_image.png",
                      "the init image [1, 3, 16, 16] must be [1, 3, 32, 32]"},
        BadInvocation{"txt2img --model DATA/tiny_sd/sd1 --prompt hi --init-noise DATA/dit_init_noise.npy",
                      "initial noise [2, 4, 8, 8] does not match the latents [1, 4, 8, 8]"},
        BadInvocation{"init-model --arch dit --preset huge --out /tmp/genrt_never", "unknown DiT preset 'huge'"},
        BadInvocation{"diffuse --model DATA/tiny_dit", "--class-label is required"},
        BadInvocation{"diffuse --model DATA/tiny_dit --class-label 1000", "class label 1000 is outside the model's 1000 classes"},
        BadInvocation{"diffuse --model DATA/tiny_dit --class-label 1,x", "--class-label: 'x' is not a class label"},
        BadInvocation{"diffuse --model DATA/tiny_dit --class-label 1,2 --batch 3", "--batch 3 with 2 class labels"},
        BadInvocation{"diffuse --model DATA/tiny_dit --class-label 1 --scheduler lms", "unknown scheduler 'lms'"},
        BadInvocation{"diffuse --model DATA/tiny_dit --class-label 1 --steps 0", "0 steps"},
        BadInvocation{"diffuse --model DATA/tiny_dit --class-label 1 --dtype fp32", "--dtype fp32: expected bf16 or fp16"},
        BadInvocation{"diffuse --model DATA/tiny_dit --class-label 1 --init-noise DATA/dit_golden.json", "not a .npy file"},
        BadInvocation{"diffuse --model DATA/tiny_dit --class-label 1 --init-noise DATA/dit_init_noise.npy",
                      "initial noise [2, 4, 8, 8] does not match the latents [1, 4, 8, 8]"},
        BadInvocation{"diffuse --model DATA/tiny_llama --class-label 1", "not a DiT (DiTTransformer2DModel)"},
        BadInvocation{"bench nosuch --device cpu", "unknown bench suite 'nosuch': expected one of peak, norm"},
        BadInvocation{"bench norm --device cpu --shapes 4x", "--shapes 4x: '' is not a positive number (expected ROWSxDIM)"},
        BadInvocation{"bench all --device cpu --shapes 4x4", "--shapes applies to one suite, not to all"},
        BadInvocation{"bench norm --device cpu --op-profile", "--op-profile profiles the steps of e2e-decode and e2e-denoise, not of norm"},
        BadInvocation{"bench norm --device cpu --dtype int8", "--dtype int8: expected bf16 or fp16"},
        BadInvocation{"bench --device cpu", "name a suite (see --help), or `report FILE`"},
        BadInvocation{"bench norm --device cpu --max-seconds 0",
                      "--max-seconds: must be a positive number of seconds, not '0'"},
        BadInvocation{"bench report /nonexistent.jsonl", "cannot read /nonexistent.jsonl"},
        BadInvocation{"tokenize --tokenizer /nonexistent --text hi", "/nonexistent"},
        BadInvocation{"tokenize --tokenizer STORIES --text hi", "is not valid JSON"},
        BadInvocation{"chat --model STORIES", "chat needs the model's tokenizer.json"},
        BadInvocation{"chat --model DATA/tiny_llama", "chat needs the model's tokenizer.json"},
        BadInvocation{"chat --model DATA/tiny_llama --tokenizer DATA/tokenizers/gpt2_golden.json", "not a tokenizer.json"},
        BadInvocation{"generate --model DATA/tiny_gpt2 --prompt hi", "--prompt needs a tokenizer"},
        BadInvocation{"generate --model DATA/tiny_bert --prompt hi", "BertForMaskedLM is an encoder"},
        BadInvocation{"embed --model DATA/tiny_bert", "--text is required"},
        BadInvocation{"embed --model DATA/tiny_gpt2 --text hi",
                      "is a decoder (GPT2LMHeadModel): it embeds by its last token's state, the only one that has "
                      "seen the whole text; pass --embedding-pooling last"},
        BadInvocation{"embed --model DATA/tiny_mistral --text hi --embedding-pooling mean", "pass --embedding-pooling last"},
        BadInvocation{"embed --model DATA/tiny_gpt2 --text hi --embedding-pooling last",
                      "embedding text needs the model's tokenizer (tokenizer.json)"},
        BadInvocation{"embed --model DATA/tiny_t5 --text hi --embedding-pooling last",
                      "is an encoder-decoder (T5ForConditionalGeneration): genrt embeds with encoders and decoders"},
        BadInvocation{"embed --model DATA/tiny_bert --text hi --embedding-pooling max", "--embedding-pooling: max not in"},
        BadInvocation{"serve --model DATA/tiny_sd/sd1 --embedding-pooling last",
                      "is a Stable Diffusion pipeline, which does not embed text"},
        BadInvocation{"fill-mask --model DATA/tiny_bert --text 'no mask here'", "the text has no [MASK] token to fill"},
        BadInvocation{"fill-mask --model DATA/tiny_bert --text '[MASK]' --top-k 0", "--top-k 0 must be positive"},
        BadInvocation{"fill-mask --model DATA/tiny_roberta --text hi", "no tokenizer.json"}));

}  // namespace
}  // namespace genrt
