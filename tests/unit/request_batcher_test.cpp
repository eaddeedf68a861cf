// Batching across requests (runtime/server/request_batcher.h): requests that arrive while a
// batch runs are run together next, each gets its own outputs in order, a lone request
// runs at once, and a batch's failure reaches each of its requests.

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "runtime/server/request_batcher.h"

namespace genrt {
namespace {

TEST(RequestBatcher, RequestsArrivingDuringABatchRunTogetherNext) {
  std::mutex m;
  std::condition_variable cv;
  bool release = false;
  std::vector<std::vector<int>> batches;
  RequestBatcher<int, int> batcher([&](const std::vector<int>& inputs) {
    std::unique_lock lock(m);
    batches.push_back(inputs);
    if (batches.size() == 1) cv.wait(lock, [&] { return release; });  // the first batch holds the model
    std::vector<int> out;
    for (const int x : inputs) out.push_back(10 * x);
    return out;
  });
  std::vector<int> first;
  std::thread leader([&] { first = batcher.submit({1, 2}); });
  while (true) {  // until the first batch runs
    std::lock_guard lock(m);
    if (!batches.empty()) break;
  }
  std::vector<std::vector<int>> later(6);
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) threads.emplace_back([&, t] { later[t] = batcher.submit({100 + t, 200 + t}); });
  while (batcher.waiting() < 6) std::this_thread::yield();  // all six queued behind the running batch
  {
    std::lock_guard lock(m);
    release = true;
  }
  cv.notify_all();
  leader.join();
  for (auto& t : threads) t.join();
  EXPECT_EQ(first, (std::vector<int>{10, 20}));
  for (int t = 0; t < 6; ++t) EXPECT_EQ(later[t], (std::vector<int>{10 * (100 + t), 10 * (200 + t)})) << t;
  ASSERT_EQ(batches.size(), 2u);  // the first, then the six together
  EXPECT_EQ(batches[1].size(), 12u);
  EXPECT_EQ(batcher.batches(), 2u);
  EXPECT_EQ(batcher.requests(), 7u);
}

TEST(RequestBatcher, ALoneRequestRunsAtOnceAndFailuresReachEveryRequest) {
  RequestBatcher<int, int> doubling([](const std::vector<int>& in) {
    std::vector<int> out;
    for (const int x : in) out.push_back(2 * x);
    return out;
  });
  EXPECT_EQ(doubling.submit({3}), (std::vector<int>{6}));
  EXPECT_EQ(doubling.submit({}), (std::vector<int>{}));
  RequestBatcher<int, int> failing([](const std::vector<int>&) -> std::vector<int> { throw std::runtime_error("no device"); });
  EXPECT_THROW(failing.submit({1}), std::runtime_error);
  RequestBatcher<int, int> short_batch([](const std::vector<int>&) { return std::vector<int>{}; });
  EXPECT_THROW(short_batch.submit({1, 2}), Error);
  EXPECT_EQ(failing.batches(), 1u);
}

}  // namespace
}  // namespace genrt
