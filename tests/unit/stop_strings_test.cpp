#include <gtest/gtest.h>

#include "runtime/engine/stop_strings.h"

namespace genrt {
namespace {

TEST(StopStrings, MatchAcrossPushesAndNeverEmitTheStop) {
  StopStringMatcher m({"\n\n", "END"});
  EXPECT_EQ(m.push("Hello E").text, "Hello ");  // "E" may start "END"
  auto r = m.push("N");
  EXPECT_EQ(r.text, "");
  EXPECT_FALSE(r.stopped);
  r = m.push("Dx");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.text, "");
}

TEST(StopStrings, FalseStartsAreReleased) {
  StopStringMatcher m({"END"});
  EXPECT_EQ(m.push("EN").text, "");
  EXPECT_EQ(m.push("Xy").text, "ENXy");
  EXPECT_EQ(m.push("E").text, "");
  EXPECT_EQ(m.finish(), "E");
}

TEST(StopStrings, EarliestStopWinsAndTextBeforeItIsKept) {
  StopStringMatcher m({"bc", "ab"});
  const auto r = m.push("xxabc");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.text, "xx");
}

TEST(StopStrings, NoStopsPassEverythingThrough) {
  StopStringMatcher m({});
  EXPECT_EQ(m.push("anything").text, "anything");
  EXPECT_EQ(m.finish(), "");
}

}  // namespace
}  // namespace genrt
