#include "runtime/backend/op_profile.h"

#include <algorithm>
#include <chrono>
#include <limits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "runtime/core/error.h"

#ifdef GENRT_HAVE_CUDA
#include <cuda_runtime_api.h>

#include "kernels/stream_hold.cuh"
#include "runtime/backend/cuda/cuda_context.h"
#endif

namespace genrt {

namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kNotTimed = std::numeric_limits<size_t>::max();
#ifdef GENRT_HAVE_CUDA
// CUDA events made when a GPU profile opens, two per op: a decode step of a 32-layer model
// takes about 700. More are made on demand, inside the ops they time.
constexpr size_t kPreparedEvents = 2048;
#endif

}  // namespace

struct OpProfile::Impl {
  // One timed op: its host times on the CPU, its events' indices on the GPU.
  struct Record {
    const char* op = nullptr;
    Clock::time_point start, end;
    size_t start_event = 0, end_event = 0;
  };

  Impl(Device d, uint64_t g) : device(d), generation(g) {
    error.reserve(256);  // fail() may then keep its out-of-memory message without allocating
  }
  ~Impl();

  Device device;
  uint64_t generation;  // tells this profile from a later one at the same address
  int open_ops = 0;     // op entries open on the thread; only the outermost is timed
  std::vector<Record> records;
  std::string error;    // the first CUDA error while timing, which spans() reports
  bool held = false;    // the GPU's stream hold was launched before the first op

  void fail(const char* what, const char* message) noexcept {
    if (!error.empty()) return;
    try {
      error = fmt::format("op profile: {}: {}", what, message);
    } catch (...) {
      error = "op profile: out of memory";
    }
  }
#ifdef GENRT_HAVE_CUDA
  std::vector<cudaEvent_t> events;
  size_t next_event = 0;  // events [0, next_event) are recorded

  // A CUDA error while timing: kept, and cleared so that the op's own launch check does not
  // take it for its own (a sticky fault stays for the op to report).
  void fail(const char* what, cudaError_t status) noexcept {
    fail(what, cudaGetErrorString(status));
    cudaGetLastError();
  }
  // Records the pool's next event on `stream` into `index`; false after a CUDA error.
  bool record_event(cudaStream_t stream, size_t& index) noexcept {
    if (next_event == events.size()) {
      cudaEvent_t event = nullptr;
      if (const cudaError_t status = cudaEventCreate(&event); status != cudaSuccess) {
        fail("cudaEventCreate", status);
        return false;
      }
      try {
        events.push_back(event);
      } catch (...) {
        cudaEventDestroy(event);
        fail("events", "out of memory");
        return false;
      }
    }
    if (const cudaError_t status = cudaEventRecord(events[next_event], stream); status != cudaSuccess) {
      fail("cudaEventRecord", status);
      return false;
    }
    index = next_event++;
    return true;
  }
#endif
};

namespace {

thread_local OpProfile::Impl* t_profile = nullptr;
thread_local uint64_t t_profiles_opened = 0;

}  // namespace

OpProfile::Impl::~Impl() {
#ifdef GENRT_HAVE_CUDA
  for (cudaEvent_t event : events) cudaEventDestroy(event);
#endif
}

OpProfile::OpProfile(Device device) {
  GENRT_CHECK(t_profile == nullptr, "an op profile is already open on this thread");
  impl_ = std::make_unique<Impl>(device, ++t_profiles_opened);
#ifdef GENRT_HAVE_CUDA
  if (device == Device::cuda) {
    impl_->events.reserve(kPreparedEvents);
    for (size_t i = 0; i < kPreparedEvents; ++i) {
      cudaEvent_t event = nullptr;
      check_cuda(cudaEventCreate(&event), "op profile: cudaEventCreate");
      impl_->events.push_back(event);
    }
  }
#endif
  t_profile = impl_.get();
}

OpProfile::~OpProfile() {
  if (t_profile == impl_.get()) t_profile = nullptr;
}

bool OpProfile::launched_within_hold() const {
  if (impl_->device != Device::cuda || impl_->records.empty()) return true;
  const auto launching = impl_->records.back().end - impl_->records.front().start;
  return impl_->held && launching < std::chrono::nanoseconds(kHoldNanoseconds);
}

std::vector<OpSpan> OpProfile::spans() const {
  GENRT_CHECK(impl_->open_ops == 0, "op profile: spans() asked for while an op is running");
  GENRT_CHECK(impl_->error.empty(), "{}", impl_->error);
  std::vector<OpSpan> out;
  out.reserve(impl_->records.size());
  if (impl_->records.empty()) return out;
  if (impl_->device == Device::cpu) {
    const Clock::time_point origin = impl_->records.front().start;
    const auto ms = [&](Clock::time_point t) { return std::chrono::duration<double, std::milli>(t - origin).count(); };
    for (const Impl::Record& r : impl_->records) out.push_back({r.op, ms(r.start), ms(r.end)});
    return out;
  }
#ifdef GENRT_HAVE_CUDA
  const std::vector<cudaEvent_t>& events = impl_->events;
  check_cuda(cudaEventSynchronize(events[impl_->records.back().end_event]), "op profile: waiting for the profiled ops");
  const cudaEvent_t origin = events[impl_->records.front().start_event];
  const auto ms = [&](size_t event) {
    float elapsed = 0.0f;
    check_cuda(cudaEventElapsedTime(&elapsed, origin, events[event]), "op profile: cudaEventElapsedTime");
    return static_cast<double>(elapsed);
  };
  for (const Impl::Record& r : impl_->records) out.push_back({r.op, ms(r.start_event), ms(r.end_event)});
#endif
  return out;
}

OpTimer::OpTimer(const char* op, Device device) noexcept {
  OpProfile::Impl* profile = t_profile;
  if (profile == nullptr || profile->device != device) return;
#ifdef GENRT_HAVE_CUDA
  cudaStream_t stream = nullptr;
  if (device == Device::cuda) {
    try {
      stream = current_stream();
    } catch (...) {
      return;  // no CUDA scope: the op says so itself
    }
    cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
    if (const cudaError_t status = cudaStreamIsCapturing(stream, &capture); status != cudaSuccess) {
      profile->fail("cudaStreamIsCapturing", status);
      return;
    }
    if (capture != cudaStreamCaptureStatusNone) return;  // recorded into a graph, not run
  }
#endif
  if (profile->open_ops > 0) {  // inside another op's entry
    ++profile->open_ops;
    profile_ = profile;
    generation_ = profile->generation;
    index_ = kNotTimed;
    return;
  }
  OpProfile::Impl::Record record;
  record.op = op;
#ifdef GENRT_HAVE_CUDA
  if (device == Device::cuda) {
    // An error pending from before is not the hold's: the op finds it, as without a profile.
    if (!profile->held && cudaPeekAtLastError() == cudaSuccess) {
      if (const cudaError_t status = kernels::launch_stream_hold(OpProfile::kHoldNanoseconds, stream);
          status != cudaSuccess) {
        profile->fail("holding the stream", status);
        return;
      }
      profile->held = true;
    }
    if (!profile->record_event(stream, record.start_event)) return;
  }
#endif
  record.start = Clock::now();
  try {
    profile->records.push_back(record);
  } catch (...) {
    profile->fail("records", "out of memory");
    return;
  }
  ++profile->open_ops;
  profile_ = profile;
  generation_ = profile->generation;
  index_ = profile->records.size() - 1;
}

OpTimer::~OpTimer() {
  // Nothing when the profile closed while the op ran (or another opened since).
  if (profile_ == nullptr || t_profile != profile_ || profile_->generation != generation_) return;
  --profile_->open_ops;
  if (index_ == kNotTimed) return;
  OpProfile::Impl::Record& record = profile_->records[index_];
  record.end = Clock::now();
#ifdef GENRT_HAVE_CUDA
  if (profile_->device == Device::cuda) {
    record.end_event = record.start_event;  // kept if the end event fails (spans() then reports the error)
    try {
      profile_->record_event(current_stream(), record.end_event);
    } catch (...) {
      profile_->fail("the op's stream", "no CUDA scope at the op's end");
    }
  }
#endif
}

nlohmann::json op_profile_summary(const std::vector<OpSpan>& spans) {
  nlohmann::json ops = nlohmann::json::array();
  double busy = 0.0, idle = 0.0;
  for (size_t i = 0; i < spans.size(); ++i) {
    const OpSpan& s = spans[i];
    const double duration = s.end_ms - s.start_ms;
    const double gap = i == 0 ? 0.0 : std::max(0.0, s.start_ms - spans[i - 1].end_ms);
    busy += duration;
    idle += gap;
    auto it = std::find_if(ops.begin(), ops.end(), [&](const nlohmann::json& o) { return o["op"] == s.op; });
    if (it == ops.end()) {
      ops.push_back({{"op", s.op}, {"calls", 0}, {"ms", 0.0}, {"idle_before_ms", 0.0}});
      it = ops.end() - 1;
    }
    (*it)["calls"] = (*it)["calls"].get<int64_t>() + 1;
    (*it)["ms"] = (*it)["ms"].get<double>() + duration;
    (*it)["idle_before_ms"] = (*it)["idle_before_ms"].get<double>() + gap;
  }
  const double wall = spans.empty() ? 0.0 : spans.back().end_ms - spans.front().start_ms;
  for (nlohmann::json& o : ops) o["share"] = wall > 0.0 ? o["ms"].get<double>() / wall : 0.0;
  return {{"ops", ops}, {"wall_ms", wall}, {"busy_ms", busy}, {"idle_ms", idle}};
}

std::string op_profile_markdown(const nlohmann::json& summary) {
  std::string md =
      "| op | calls | ms | share of the step | ms per call | idle before it (ms) |\n"
      "|---|---:|---:|---:|---:|---:|\n";
  for (const nlohmann::json& o : summary["ops"]) {
    const double ms = o["ms"].get<double>();
    const int64_t calls = o["calls"].get<int64_t>();
    md += fmt::format("| {} | {} | {:.4f} | {:.1f}% | {:.4f} | {:.4f} |\n", o["op"].get<std::string>(), calls, ms,
                      100.0 * o["share"].get<double>(), ms / static_cast<double>(calls),
                      o["idle_before_ms"].get<double>());
  }
  md += fmt::format("\nWall {:.4f} ms from the first op's start to the last one's end: ops {:.4f} ms, idle {:.4f} ms.\n",
                    summary["wall_ms"].get<double>(), summary["busy_ms"].get<double>(),
                    summary["idle_ms"].get<double>());
  return md;
}

}  // namespace genrt
