// genrt-plot's drawing (bench/plot/): a PNG with one panel per suite that has x values.

#include <gtest/gtest.h>

#include <fstream>

#include "bench/plot/plot.h"
#include "tests/test_util.h"

namespace genrt::bench {
namespace {

TEST(BenchPlot, PngWithAPanelPerSuite) {
  test::TempDir dir;
  const auto png = dir.path() / "plot.png";
  const std::vector<nlohmann::json> lines = {
      {{"suite", "norm"}, {"case", "rmsnorm rows=8"}, {"series", "rmsnorm"}, {"metric", "GB/s"}, {"value", 100.0},
       {"x", 512}, {"median_ms", 1.0}, {"peers", {{"torch", {{"median_ms", 2.0}}}}}},
      {{"suite", "gemm"}, {"case", "linear m=1"}, {"op", "linear"}, {"metric", "TFLOP/s"}, {"value", 3.0}, {"x", 1}},
      {{"suite", "peak"}, {"case", "copy"}, {"metric", "GB/s"}, {"value", 4000.0}}};  // no x: not plotted
  write_plot(lines, png);
  std::ifstream in(png, std::ios::binary);
  unsigned char header[24] = {};
  in.read(reinterpret_cast<char*>(header), sizeof header);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(header) + 1, 3), "PNG");
  const auto be32 = [&](int at) { return header[at] << 24 | header[at + 1] << 16 | header[at + 2] << 8 | header[at + 3]; };
  EXPECT_EQ(be32(16), 1000);     // width
  EXPECT_EQ(be32(20), 2 * 420);  // two suites, one panel each
  EXPECT_ERROR(write_plot({lines[2]}, png), "no result line has an x value");
}

}  // namespace
}  // namespace genrt::bench
