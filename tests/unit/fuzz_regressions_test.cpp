// Every input a fuzzer once crashed on, replayed through its target as the fuzzer ran it:
// tests/fuzz/regressions/<target>/<file>, one test per file; and the seed inputs committed
// for a target (tests/fuzz/corpus/<target>/), so every target runs in every build.
// genrt::Error is a clean refusal; any other exception fails the test, and an abort or a
// crash fails the run.

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_targets.h"
#include "tests/test_util.h"

namespace genrt {
namespace {

struct Regression {
  std::string folder;  // names the target
  std::filesystem::path file;
};

// The files of `root`/<target>/.
std::vector<Regression> inputs(const std::filesystem::path& root) {
  std::vector<Regression> all;
  for (const auto& folder : std::filesystem::directory_iterator(root)) {
    if (!folder.is_directory()) {
      all.push_back({"", folder.path()});  // fails below: not in a target's folder
      continue;
    }
    for (const auto& file : std::filesystem::directory_iterator(folder)) {
      all.push_back({folder.path().filename().string(), file.path()});
    }
  }
  std::sort(all.begin(), all.end(), [](const Regression& a, const Regression& b) { return a.file < b.file; });
  return all;
}

void PrintTo(const Regression& r, std::ostream* out) { *out << r.file; }

class FuzzRegression : public ::testing::TestWithParam<Regression> {};

TEST_P(FuzzRegression, RunsCleanlyThroughItsTarget) {
  const Regression& r = GetParam();
  const fuzz::Target* target = fuzz::find_target(r.folder);
  ASSERT_NE(target, nullptr) << r.file << " is not in a folder named after a fuzz target (tests/fuzz/fuzz_targets.cpp)";
  const std::string bytes = test::read_file(r.file);
  try {
    target->run(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  } catch (const Error&) {
  } catch (const std::exception& e) {
    FAIL() << "an exception other than genrt::Error escaped: " << e.what();
  }
}

std::string test_name(const ::testing::TestParamInfo<Regression>& info) {
  std::string name = info.param.folder + "_" + info.param.file.filename().string();
  std::replace_if(name.begin(), name.end(), [](unsigned char c) { return !std::isalnum(c); }, '_');
  return name;
}

INSTANTIATE_TEST_SUITE_P(Committed, FuzzRegression, ::testing::ValuesIn(inputs(GENRT_FUZZ_REGRESSIONS)), test_name);
INSTANTIATE_TEST_SUITE_P(Seeds, FuzzRegression, ::testing::ValuesIn(inputs(GENRT_FUZZ_CORPUS)), test_name);

}  // namespace
}  // namespace genrt
