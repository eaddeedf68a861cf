#pragma once
// Batching across requests for a model that serves whole requests at once (an encoder's
// embeddings): each request's inputs join a queue, and whichever request finds the model
// free runs everything queued as one batch and hands each request its outputs. Requests
// that arrive while a batch runs are batched together next, so under load batches grow
// with the load, and a lone request runs at once with no waiting for company.

#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <utility>
#include <vector>

#include "runtime/core/error.h"

namespace genrt {

template <class In, class Out>
class RequestBatcher {
 public:
  // Runs a batch: one output per input, in order. What it throws goes to every request
  // of the batch.
  using Run = std::function<std::vector<Out>(const std::vector<In>& inputs)>;

  explicit RequestBatcher(Run run) : run_(std::move(run)) {}

  // Blocks until the inputs have run, with whatever other requests were queued with them.
  std::vector<Out> submit(std::vector<In> inputs) {
    Request mine;
    mine.inputs = std::move(inputs);
    std::unique_lock lock(mutex_);
    queue_.push_back(&mine);
    done_.wait(lock, [&] { return mine.done || !running_; });
    if (!mine.done) run_queued(lock);
    if (mine.error) std::rethrow_exception(mine.error);
    return std::move(mine.outputs);
  }

  // Requests queued for the next batch.
  size_t waiting() const {
    std::lock_guard lock(mutex_);
    return queue_.size();
  }
  // Batches run and requests served, since construction.
  size_t batches() const {
    std::lock_guard lock(mutex_);
    return batches_;
  }
  size_t requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  struct Request {
    std::vector<In> inputs;
    std::vector<Out> outputs;
    std::exception_ptr error;
    bool done = false;
  };

  // With the lock held and the model free: runs every queued request (the caller's among
  // them) as one batch, without the lock while it runs.
  void run_queued(std::unique_lock<std::mutex>& lock) {
    running_ = true;
    std::vector<Request*> batch = std::exchange(queue_, {});
    lock.unlock();
    std::vector<In> inputs;
    for (const Request* r : batch) inputs.insert(inputs.end(), r->inputs.begin(), r->inputs.end());
    try {
      std::vector<Out> outputs = run_(inputs);
      GENRT_CHECK(outputs.size() == inputs.size(), "a batch of {} inputs gave {} outputs", inputs.size(),
                  outputs.size());
      size_t next = 0;
      for (Request* r : batch) {
        for (size_t i = 0; i < r->inputs.size(); ++i) r->outputs.push_back(std::move(outputs[next++]));
      }
    } catch (...) {
      for (Request* r : batch) r->error = std::current_exception();
    }
    lock.lock();
    for (Request* r : batch) r->done = true;
    ++batches_;
    requests_ += batch.size();
    running_ = false;
    done_.notify_all();
  }

  Run run_;
  mutable std::mutex mutex_;
  std::condition_variable done_;
  std::vector<Request*> queue_;
  bool running_ = false;
  size_t batches_ = 0, requests_ = 0;
};

}  // namespace genrt
