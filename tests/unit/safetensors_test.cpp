// safetensors: a round trip, and one hostile file per row with the error it must give.

#include <gtest/gtest.h>

#include "runtime/io/safetensors.h"
#include "runtime/io/safetensors_writer.h"
#include "runtime/io/weight_store.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

std::string safetensors_bytes(std::string_view header, std::string_view data, uint64_t declared_length) {
  std::string bytes;
  test::append_pod(bytes, declared_length);
  bytes.append(header);
  bytes.append(data);
  return bytes;
}
std::string safetensors_bytes(std::string_view header, std::string_view data) {
  return safetensors_bytes(header, data, header.size());
}

TEST(Safetensors, WriteThenReadRoundTrips) {
  test::TempDir dir;
  Tensor a = Tensor::zeros({2, 3}, DType::f32);
  for (int i = 0; i < 6; ++i) a.data<float>()[i] = static_cast<float>(i) - 2.5f;
  Tensor b = Tensor::zeros({4}, DType::bf16);
  static_cast<uint16_t*>(b.raw())[3] = f32_to_bf16(0.75f);
  Tensor empty = Tensor::zeros({0, 5}, DType::f16);
  write_safetensors(dir / "m.safetensors", {{"a", a}, {"b", b}, {"empty", empty}}, {{"k", "v"}});

  const SafetensorsFile st = SafetensorsFile::open(dir / "m.safetensors");
  EXPECT_EQ(st.entries().size(), 3u);
  EXPECT_EQ(st.metadata().at("k"), "v");
  const Tensor a2 = st.tensor("a");
  EXPECT_EQ(a2.shape(), (Shape{2, 3}));
  EXPECT_EQ(a2.to_f32().data<float>()[5], 2.5f);
  EXPECT_EQ(st.tensor("b").to_f32().data<float>()[3], 0.75f);
  EXPECT_EQ(st.tensor("empty").numel(), 0);  // zero-sized tensors are accepted
  EXPECT_ERROR(st.tensor("nope"), "no tensor named 'nope'");
}

TEST(Safetensors, ViewsOutliveTheFileObject) {
  test::TempDir dir;
  Tensor a = Tensor::zeros({3}, DType::f32);
  a.data<float>()[2] = 9.0f;
  write_safetensors(dir / "m.safetensors", {{"a", a}});
  Tensor view;
  { view = SafetensorsFile::open(dir / "m.safetensors").tensor("a"); }
  EXPECT_EQ(view.data<float>()[2], 9.0f);
}

struct HostileCase {
  const char* name;
  std::string bytes;
  const char* error;
};

class HostileSafetensors : public ::testing::TestWithParam<HostileCase> {};

TEST_P(HostileSafetensors, IsRejectedWithAClearError) {
  test::TempDir dir;
  const auto path = dir / "bad.safetensors";
  test::write_file(path, GetParam().bytes);
  EXPECT_ERROR(SafetensorsFile::open(path), GetParam().error);
}

const std::string k8Bytes(8, '\0');
const std::string kF32x2 = R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";

INSTANTIATE_TEST_SUITE_P(
    Table, HostileSafetensors,
    ::testing::Values(
        HostileCase{"ShorterThanTheLengthField", "\x05\x00\x00", "too short for a safetensors header"},
        HostileCase{"HeaderLengthPastEof", safetensors_bytes("{}", "", 4096), "runs past the end"},
        HostileCase{"HeaderLengthNearUint64Max", safetensors_bytes("{}", "", ~uint64_t{0} - 3),
                    "exceeds the 100 MB limit"},
        HostileCase{"HeaderOver100MB", safetensors_bytes("{}", "", (100ull << 20) + 1),
                    "exceeds the 100 MB limit"},
        HostileCase{"HeaderNotUtf8", safetensors_bytes("{\"\xff\":1}", ""), "header is not valid UTF-8"},
        HostileCase{"HeaderNotJson", safetensors_bytes("{not json", ""), "header is not valid JSON"},
        HostileCase{"HeaderNotAnObject", safetensors_bytes("[1,2]", ""), "header is not a JSON object"},
        HostileCase{"UnknownDtype",
                    safetensors_bytes(R"({"t":{"dtype":"F12","shape":[1],"data_offsets":[0,2]}})", "ab"),
                    "tensor 't': unknown dtype 'F12'"},
        HostileCase{"MissingShape", safetensors_bytes(R"({"t":{"dtype":"F32","data_offsets":[0,4]}})", "abcd"),
                    "missing or non-array 'shape'"},
        HostileCase{"NegativeDimension",
                    safetensors_bytes(R"({"t":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", "abcd"),
                    "not a non-negative integer"},
        HostileCase{"ShapeProductOverflows",
                    safetensors_bytes(
                        R"({"t":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})",
                        "abcd"),
                    "overflows 64 bits"},
        HostileCase{"ShapeTimesDtypeOverflows",
                    safetensors_bytes(
                        R"({"t":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,8]}})",
                        k8Bytes),
                    "overflows 64 bits"},
        HostileCase{"SpanNotShapeTimesDtype",
                    safetensors_bytes(R"({"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", k8Bytes),
                    "span 8 bytes, but shape [3] of F32 needs 12"},
        HostileCase{"OffsetsReversed",
                    safetensors_bytes(R"({"t":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", k8Bytes),
                    "end before they begin"},
        HostileCase{"Overlapping",
                    safetensors_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                      R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                      k8Bytes),
                    "overlaps the tensor before it"},
        HostileCase{"GapBetweenTensors",
                    safetensors_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                      R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                                      std::string(12, '\0')),
                    "gap of 4 bytes in the data before tensor 'b'"},
        HostileCase{"DataShorterThanDeclared", safetensors_bytes(kF32x2, "abcd"),
                    "runs past the end of the 4-byte data section"},
        HostileCase{"DataLongerThanDeclared", safetensors_bytes(kF32x2, std::string(12, '\0')),
                    "4 bytes of data after the last tensor"},
        HostileCase{"MetadataNotStrings",
                    safetensors_bytes(R"({"__metadata__":{"a":1}})", ""), "is not a string"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Safetensors, UncomputableDtypeIsRejectedAtUse) {
  test::TempDir dir;
  test::write_file(dir / "m.safetensors",
                   safetensors_bytes(R"({"t":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})", k8Bytes));
  const SafetensorsFile st = SafetensorsFile::open(dir / "m.safetensors");
  EXPECT_ERROR(st.tensor("t"), "tensor 't' has dtype I64; genrt loads F32, F16, BF16 and I32");
}

TEST(WeightStore, ShardedIndexIsFollowedAndChecked) {
  test::TempDir dir;
  Tensor a = Tensor::zeros({2}, DType::f32);
  write_safetensors(dir / "part1.safetensors", {{"a", a}});
  write_safetensors(dir / "part2.safetensors", {{"b", a}});
  test::write_file(dir / "model.safetensors.index.json",
                   R"({"weight_map":{"a":"part1.safetensors","b":"part2.safetensors"}})");
  const WeightStore store = WeightStore::open_dir(dir.path());
  EXPECT_TRUE(store.contains("a") && store.contains("b"));
  EXPECT_EQ(store.get("b").numel(), 2);
  EXPECT_ERROR(store.get("c"), "missing tensor 'c'");

  test::write_file(dir / "model.safetensors.index.json",
                   R"({"weight_map":{"a":"part2.safetensors","b":"part2.safetensors"}})");
  EXPECT_ERROR(WeightStore::open_dir(dir.path()),
               "the index lists tensor 'a' in part2.safetensors, but it is not there");
  test::write_file(dir / "model.safetensors.index.json", R"({"weight_map":{"a":"../x.safetensors"}})");
  EXPECT_ERROR(WeightStore::open_dir(dir.path()), "must be a plain file name");
  std::filesystem::remove(dir / "model.safetensors.index.json");
  EXPECT_ERROR(WeightStore::open_dir(dir.path()), "no model.safetensors or model.safetensors.index.json");
}

}  // namespace
}  // namespace genrt
