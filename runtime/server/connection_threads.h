#pragma once
// The HTTP server's task queue: every accepted connection gets a thread of its own at
// once, reusing an idle one or starting one, up to `max_threads`. httplib's ThreadPool
// has a fixed size and queues connections behind busy threads, so a few hundred idle
// clients were enough to make real ones wait; here the connection caps
// (ConnectionLimits) decide who is refused, and the pool is sized above them.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include <httplib.h>

namespace genrt {

class ConnectionThreads : public httplib::TaskQueue {
 public:
  explicit ConnectionThreads(size_t max_threads) : max_threads_(max_threads) {}
  ~ConnectionThreads() override { shutdown(); }

  void enqueue(std::function<void()> task) override;
  // Runs what is queued, then joins every thread.
  void shutdown() override;

 private:
  void work();

  const size_t max_threads_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> tasks_;
  std::vector<std::thread> threads_;
  size_t idle_ = 0;
  bool stopping_ = false;
};

}  // namespace genrt
