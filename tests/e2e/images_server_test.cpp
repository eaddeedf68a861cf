// POST /v1/images/generations over loopback HTTP, served by the tiny SD 1.x pipeline of
// tools/golden/sd.py: OpenAI's request shape, the PNGs it returns (decoded here and
// compared with the pipeline's own run of the same request), the 400s of requests it
// cannot take, a client that goes away cancelling its job, and /metrics; and by the tiny
// SDXL pipeline of tools/golden/sdxl.py, through the same service.

#include <gtest/gtest.h>
#include <httplib.h>
#include <png.h>

#include <chrono>
#include <memory>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "runtime/server/http_server.h"
#include "runtime/core/base64.h"
#include "tests/e2e/test_server.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

std::filesystem::path sd1() { return test::data_dir() / "tiny_sd" / "sd1"; }

// A PNG's RGB pixels, through libpng's simplified reader.
RgbImage decode_png(const std::string& bytes) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  EXPECT_NE(png_image_begin_read_from_memory(&image, bytes.data(), bytes.size()), 0) << image.message;
  image.format = PNG_FORMAT_RGB;
  RgbImage rgb{.width = image.width, .height = image.height, .pixels = std::vector<uint8_t>(PNG_IMAGE_SIZE(image))};
  EXPECT_NE(png_image_finish_read(&image, nullptr, rgb.pixels.data(), 0, nullptr), 0) << image.message;
  return rgb;
}

class ImagesServer : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    service_ = new ImageService(SdPipeline::load(sd1()), 2);
    server_ = new test::LoopbackServer("tiny-sd");
    server_->server().set_image_service(service_);
  }
  static void TearDownTestSuite() {
    delete server_;
    delete service_;
  }

  static httplib::Client client() { return server_->client(); }
  static nlohmann::json post(const nlohmann::json& body, int expected_status, const std::string& path = kPath) {
    return server_->post(path, body, expected_status);
  }
  static double metric(const std::string& name) { return server_->metric(name); }

  static constexpr const char* kPath = "/v1/images/generations";
  static inline ImageService* service_ = nullptr;
  static inline test::LoopbackServer* server_ = nullptr;
};

TEST_F(ImagesServer, ReturnsThePipelinesImagesAsBase64Pngs) {
  const nlohmann::json body = {{"prompt", "a photo of a cat"}, {"negative_prompt", "blurry"}, {"n", 2},
                               {"size", "16x8"},  {"response_format", "b64_json"}, {"steps", 3},
                               {"guidance_scale", 5.0}, {"seed", 42}, {"scheduler", "euler-a"}, {"model", "tiny-sd"}};
  const nlohmann::json reply = post(body, 200);
  ASSERT_EQ(reply.at("data").size(), 2u);
  EXPECT_GT(reply.at("created").get<int64_t>(), 0);
  const TextToImageResult want = service_->pipeline().run({.prompt = "a photo of a cat",
                                                           .negative_prompt = "blurry",
                                                           .steps = 3,
                                                           .guidance = 5.0,
                                                           .seed = 42,
                                                           .width = 16,
                                                           .height = 8,
                                                           .images = 2,
                                                           .scheduler = service_->pipeline().scheduler_config("euler-a")});
  for (size_t i = 0; i < 2; ++i) {
    const std::string png = base64_decode(reply["data"][i].at("b64_json").get<std::string>(), "the response");
    const RgbImage image = decode_png(png);
    EXPECT_EQ(image.width, 16);
    EXPECT_EQ(image.height, 8);
    EXPECT_EQ(image.pixels, to_rgb8(want.images, static_cast<int64_t>(i))) << "image " << i;
    EXPECT_NE(png.find("parameters"), std::string::npos);
    EXPECT_NE(png.find("Negative prompt: blurry\nSteps: 3, Sampler: euler-a, CFG scale: 5, Seed: 42, Size: 16x8"),
              std::string::npos);
  }
  EXPECT_GE(metric("genrt_images_generated_total"), 2);
  EXPECT_GE(metric("genrt_diffusion_step_seconds_count"), 3);
}

TEST_F(ImagesServer, BadRequestsAre400sNamingTheField) {
  const nlohmann::json base = {{"prompt", "a cat"}, {"steps", 1}};
  auto with = [&](const char* field, const nlohmann::json& value) {
    nlohmann::json body = base;
    body[field] = value;
    return body;
  };
  const struct {
    nlohmann::json body;
    const char* message;
  } cases[] = {
      {with("response_format", "url"), "response_format 'url' is not supported: genrt keeps no image store"},
      {with("response_format", "jpeg"), "response_format 'jpeg' is not 'b64_json'"},
      {with("n", 0), "'n' must be between 1 and 2"},
      {with("n", 3), "'n' must be between 1 and 2"},
      {with("n", "two"), "'n' must be an integer"},
      {with("size", "big"), "'size' must be WIDTHxHEIGHT in pixels"},
      {with("size", "18x16"), "image size 18x16: width and height must be positive multiples of 4"},
      {with("quality", "hd"), "'quality' is not a field of /v1/images/generations"},
      {with("prompt", ""), "'prompt' is required"},
      {with("scheduler", "lms"), "unknown scheduler 'lms'"},
      {with("steps", 0), "0 steps"},
      {with("seed", -1), "'seed' must be a non-negative integer"},
      {with("guidance_scale", "high"), "'guidance_scale' must be a number"},
  };
  for (const auto& c : cases) {
    const nlohmann::json reply = post(c.body, 400);
    EXPECT_NE(reply.at("error").at("message").get<std::string>().find(c.message), std::string::npos)
        << c.body.dump() << " -> " << reply.dump();
  }
  post({{"prompt", "a cat"}, {"model", "other"}}, 404);
  const auto res = client().Post(kPath, "{not json", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
}

TEST_F(ImagesServer, OtherEndpointsSayWhatIsServed) {
  const nlohmann::json reply = post({{"prompt", "hi"}, {"max_tokens", 1}}, 400, "/v1/completions");
  EXPECT_NE(reply.at("error").at("message").get<std::string>().find("is a diffusion pipeline"), std::string::npos);
  post({{"input", "hi"}}, 400, "/v1/embeddings");
  const auto models = client().Get("/v1/models");
  ASSERT_TRUE(models);
  EXPECT_EQ(models->status, 200);
  const nlohmann::json model = nlohmann::json::parse(models->body).at("data")[0];
  EXPECT_EQ(model.at("id"), "tiny-sd");
  EXPECT_EQ(model.at("endpoints"), nlohmann::json({"/v1/images/generations"}));
  // What the playground's image view offers.
  const nlohmann::json options = model.at("image_options");
  const ImageSize size = service_->pipeline().default_size();
  EXPECT_EQ(options.at("size"), fmt::format("{}x{}", size.width, size.height));
  EXPECT_EQ(options.at("steps"), TextToImageRequest{}.steps);
  EXPECT_EQ(options.at("guidance_scale"), TextToImageRequest{}.guidance);
  EXPECT_EQ(options.at("scheduler"), scheduler_name(service_->pipeline().scheduler_config().kind));
  EXPECT_EQ(options.at("schedulers"), nlohmann::json(scheduler_names()));
  EXPECT_EQ(options.at("max_n"), 2);
  EXPECT_EQ(client().Get("/health")->status, 200);
}

// A client that goes away mid-job: the job stops at its next step and the pipeline is free
// for the next request. While it runs, /metrics shows its step (the playground's progress).
TEST_F(ImagesServer, AClientThatGoesAwayCancelsItsJob) {
  const double cancelled = metric("genrt_images_cancelled_total");
  EXPECT_EQ(metric("genrt_image_job_steps"), 0);
  {
    test::RawClient raw(server_->port());
    const std::string body = nlohmann::json{{"prompt", "a cat"}, {"steps", 900}}.dump();
    raw.send(fmt::format("POST {} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
                         kPath, body.size(), body));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (metric("genrt_image_job_step") < 2 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_EQ(metric("genrt_image_job_steps"), 900);
    EXPECT_GE(metric("genrt_image_job_step"), 2);
  }  // closed
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while ((metric("genrt_images_cancelled_total") < cancelled + 1 || metric("genrt_image_job_steps") != 0) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(metric("genrt_images_cancelled_total"), cancelled + 1);
  EXPECT_EQ(metric("genrt_image_job_steps"), 0);
  EXPECT_EQ(metric("genrt_image_job_step"), 0);
  EXPECT_EQ(post({{"prompt", "a cat"}, {"steps", 1}}, 200).at("data").size(), 1u);
}

// The same endpoint serving an SDXL folder: the service runs whatever pipeline it loads.
TEST(SdxlImagesServer, ServesTheSdxlPipelinesImages) {
  ImageService service(SdPipeline::load(test::data_dir() / "tiny_sd" / "sdxl"), 1);
  ASSERT_TRUE(service.pipeline().is_sdxl());
  test::LoopbackServer server("tiny-sdxl");
  server.server().set_image_service(&service);
  const nlohmann::json reply = server.post("/v1/images/generations",
                                           {{"prompt", "a photo of a cat"}, {"size", "16x24"}, {"steps", 2},
                                            {"seed", 9}, {"response_format", "b64_json"}},
                                           200);
  ASSERT_EQ(reply.at("data").size(), 1u);
  const TextToImageResult want =
      service.pipeline().run({.prompt = "a photo of a cat", .steps = 2, .seed = 9, .width = 16, .height = 24});
  const RgbImage image = decode_png(base64_decode(reply["data"][0].at("b64_json").get<std::string>(), "the response"));
  EXPECT_EQ(image.width, 16);
  EXPECT_EQ(image.height, 24);
  EXPECT_EQ(image.pixels, to_rgb8(want.images, 0));
}

}  // namespace
}  // namespace genrt
