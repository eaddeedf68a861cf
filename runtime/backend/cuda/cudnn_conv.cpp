#include "runtime/backend/cuda/cudnn_conv.h"

#include <string>

#include "runtime/core/error.h"

#ifdef GENRT_HAVE_CUDNN_FRONTEND
#include <cudnn_frontend.h>
#include <dlfcn.h>

#include <exception>
#include <initializer_list>
#include <unordered_map>
#include <vector>

// Built with NV_CUDNN_FRONTEND_USE_DYNAMIC_LOADING, cudnn-frontend calls cuDNN through this
// handle, which the program defines and opens (load_cudnn); the bench's cuDNN peer shares it.
namespace cudnn_frontend {
void* cudnn_dlhandle = nullptr;
}  // namespace cudnn_frontend
#endif

namespace genrt {

namespace {

// The convolution an error names, formatted only when one is raised.
struct ConvOf {
  const ref::Conv2dShape& shape;
  DType dtype;
  bool bias;
};

// "x [2, 7, 9, 4] bf16 by filters [32, 3, 3, 4], stride 2, padding 1, with bias"
std::string describe(const ConvOf& c) {
  const ref::Conv2dShape& s = c.shape;
  const std::string extra = s.extra_padding_end > 0 ? fmt::format(" (+{} at the end)", s.extra_padding_end) : "";
  return fmt::format("x [{}, {}, {}, {}] {} by filters [{}, {}, {}, {}], stride {}, padding {}{}{}", s.batch, s.height,
                     s.width, s.in_channels, dtype_name(c.dtype), s.out_channels, s.kernel, s.kernel, s.in_channels,
                     s.stride, s.padding, extra, c.bias ? ", with bias" : "");
}

}  // namespace

CudnnConv::CudnnConv(void* workspace, size_t workspace_bytes)
    : workspace_(workspace), workspace_bytes_(workspace_bytes) {}

#ifdef GENRT_HAVE_CUDNN_FRONTEND

namespace fe = cudnn_frontend;

namespace {

enum Uid : int64_t { kX = 1, kW, kBias, kY };

cudnnHandle_t cudnn(void* handle) { return static_cast<cudnnHandle_t>(handle); }

void check(fe::error_t status, const ConvOf& conv, const char* what) {
  GENRT_CHECK(status.is_good(), "cuDNN convolution of {}: {} failed: {}", describe(conv), what, status.get_message());
}

// Runs f, giving the exceptions cudnn-frontend throws (a symbol missing from the loaded
// cuDNN) genrt's type and the convolution's shape.
template <class F>
void as_genrt_errors(const ConvOf& conv, F&& f) {
  try {
    f();
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    fail("cuDNN convolution of {}: {}", describe(conv), e.what());
  }
}

// The largest power of two, up to the 16 bytes cuDNN assumes unless told, dividing every
// operand's address: a view into a larger buffer starts wherever it starts.
int64_t common_alignment(std::initializer_list<const void*> operands) {
  uintptr_t bits = 16;
  for (const void* p : operands) bits |= reinterpret_cast<uintptr_t>(p);  // nullptr adds no bit
  return static_cast<int64_t>(bits & (~bits + 1));
}

}  // namespace

void load_cudnn() {
  static const bool loaded = [] {
    // Global: cuDNN 9's libcudnn.so.9 opens its engine libraries, which resolve against it.
    fe::cudnn_dlhandle = ::dlopen("libcudnn.so.9", RTLD_NOW | RTLD_GLOBAL);
    if (fe::cudnn_dlhandle == nullptr) {
      const char* why = ::dlerror();
      fail("cuDNN: cannot load libcudnn.so.9 ({}): install cuDNN 9 for CUDA {} (NVIDIA's cudnn9-cuda-{} package, or "
           "the nvidia-cudnn-cu{} wheel that PyTorch brings) and put its library folder on LD_LIBRARY_PATH",
           why != nullptr ? why : "not found", CUDART_VERSION / 1000, CUDART_VERSION / 1000, CUDART_VERSION / 1000);
    }
    return true;
  }();
  (void)loaded;
}

struct CudnnConv::Plan {
  fe::graph::Graph graph;
  bool fused_bias = false;
};

CudnnConv::~CudnnConv() {
  plans_.clear();  // their execution plans go while the handle they were built on exists
  if (handle_ != nullptr) fe::detail::destroy_handle(cudnn(handle_));
}

namespace {

// One graph: y = conv_fprop(x, w) (+ bias through a pointwise add, in fp32 before y's one
// rounding). cuDNN names dimensions in NCHW order whatever the layout; the strides make the
// images NHWC and the filters KRSC (OHWI). Returns the first status that is not good.
fe::error_t build_conv_graph(fe::graph::Graph& g, cudnnHandle_t handle, const ref::Conv2dShape& s, DType dtype,
                             bool bias, int64_t alignment, size_t workspace_bytes) {
  const fe::DataType_t io = dtype == DType::bf16 ? fe::DataType_t::BFLOAT16 : fe::DataType_t::HALF;
  g.set_io_data_type(io).set_intermediate_data_type(fe::DataType_t::FLOAT).set_compute_data_type(fe::DataType_t::FLOAT);
  const int64_t n = s.batch, c = s.in_channels, h = s.height, w = s.width, k = s.out_channels, r = s.kernel;
  const int64_t p = s.out_height(), q = s.out_width();
  const auto tensor = [&](const char* name, Uid uid, const std::vector<int64_t>& dim,
                          const std::vector<int64_t>& stride) {
    return g.tensor(
        fe::graph::Tensor_attributes().set_name(name).set_uid(uid).set_dim(dim).set_stride(stride).set_alignment(
            alignment));
  };
  auto y = g.conv_fprop(tensor("x", kX, {n, c, h, w}, {h * w * c, 1, w * c, c}),
                        tensor("w", kW, {k, c, r, r}, {r * r * c, 1, r * c, c}),
                        fe::graph::Conv_fprop_attributes()
                            .set_name("conv")
                            .set_pre_padding({s.padding, s.padding})
                            .set_post_padding({s.padding + s.extra_padding_end, s.padding + s.extra_padding_end})
                            .set_stride({s.stride, s.stride})
                            .set_dilation({1, 1}));
  if (bias) {
    y = g.pointwise(y, tensor("bias", kBias, {1, k, 1, 1}, {k, 1, k, k}),
                    fe::graph::Pointwise_attributes().set_name("bias").set_mode(fe::PointwiseMode_t::ADD));
  }
  y->set_output(true).set_uid(kY).set_data_type(io).set_dim({n, k, p, q}).set_stride({p * q * k, 1, q * k, k});
  y->set_alignment(alignment);
  fe::error_t status = g.validate();
  if (status.is_good()) status = g.build_operation_graph(handle);
  if (status.is_good()) status = g.create_execution_plans({fe::HeurMode_t::A, fe::HeurMode_t::FALLBACK});
  if (!status.is_good()) return status;
  // fp32 accumulation, as the dtype contract says; and plans that fit the shared workspace.
  g.deselect_numeric_notes({fe::NumericalNote_t::REDUCED_PRECISION_REDUCTION});
  g.deselect_workspace_greater_than(static_cast<int64_t>(workspace_bytes));
  status = g.check_support();
  return status.is_good() ? g.build_plans(fe::BuildPlanPolicy_t::HEURISTICS_CHOICE) : status;
}

}  // namespace

CudnnConv::Plan& CudnnConv::plan_for(const ref::Conv2dShape& s, DType dtype, bool bias, int64_t alignment,
                                     cudaStream_t stream) {
  const Key key{s.batch, s.height, s.width, s.in_channels, s.out_channels, s.kernel,
                s.stride, s.padding, s.extra_padding_end, dtype, bias, alignment};
  if (auto it = plans_.find(key); it != plans_.end()) return *it->second;
  const ConvOf conv{s, dtype, bias};
  // Planning may allocate and compile: it cannot be recorded into a CUDA graph.
  cudaStreamCaptureStatus capturing = cudaStreamCaptureStatusNone;
  GENRT_CHECK(cudaStreamIsCapturing(stream, &capturing) == cudaSuccess && capturing == cudaStreamCaptureStatusNone,
              "cuDNN convolution of {}: its plan must be made before a CUDA graph capture (run the shape once eagerly)",
              describe(conv));
  auto plan = std::make_unique<Plan>();
  plan->fused_bias = bias;
  fe::error_t status = build_conv_graph(plan->graph, cudnn(handle_), s, dtype, bias, alignment, workspace_bytes_);
  if (!status.is_good() && bias) {
    // cuDNN's fusion engines refuse some channel counts; the plain convolution engines
    // take them, and the caller adds the bias.
    plan = std::make_unique<Plan>();
    status = build_conv_graph(plan->graph, cudnn(handle_), s, dtype, false, alignment, workspace_bytes_);
  }
  check(status, conv, "planning");
  int64_t needed = 0;
  check(plan->graph.get_workspace_size(needed), conv, "the workspace query");
  GENRT_CHECK(needed >= 0 && static_cast<size_t>(needed) <= workspace_bytes_,
              "cuDNN convolution of {}: the plan needs {} bytes of workspace, more than the {} it may use",
              describe(conv), needed, workspace_bytes_);
  return *plans_.emplace(key, std::move(plan)).first->second;
}

bool CudnnConv::conv2d(const void* x, const void* w, const void* bias, void* out, const ref::Conv2dShape& s,
                       DType dtype, cudaStream_t stream) {
  const ConvOf conv{s, dtype, bias != nullptr};
  GENRT_CHECK(dtype == DType::bf16 || dtype == DType::f16, "cuDNN convolution of {}: {} is not supported (bf16 or f16)",
              describe(conv), dtype_name(dtype));
  if (s.batch == 0 || s.out_channels == 0) return true;
  bool fused_bias = false;
  as_genrt_errors(conv, [&] {
    if (handle_ == nullptr) {
      load_cudnn();
      cudnnHandle_t handle = nullptr;
      const cudnnStatus_t status = fe::detail::create_handle(&handle);
      GENRT_CHECK(status == CUDNN_STATUS_SUCCESS, "cuDNN convolution of {}: cudnnCreate failed: {}", describe(conv),
                  fe::detail::get_error_string(status));
      handle_ = handle;
    }
    Plan& plan = plan_for(s, dtype, bias != nullptr, common_alignment({x, w, bias, out}), stream);
    fused_bias = plan.fused_bias;
    GENRT_CHECK(fe::detail::set_stream(cudnn(handle_), stream) == CUDNN_STATUS_SUCCESS,
                "cuDNN convolution of {}: cudnnSetStream failed", describe(conv));
    std::unordered_map<int64_t, void*> pointers = {
        {kX, const_cast<void*>(x)}, {kW, const_cast<void*>(w)}, {kY, out}};
    if (plan.fused_bias) pointers.emplace(kBias, const_cast<void*>(bias));
    check(plan.graph.execute(cudnn(handle_), pointers, workspace_), conv, "execution");
  });
  return fused_bias || bias == nullptr;
}

#else  // built without cudnn-frontend's headers

struct CudnnConv::Plan {};

namespace {
constexpr const char* kNoFrontend =
    "genrt was built without cudnn-frontend, which its GPU convolutions need: run tools/setup.sh (it fetches the "
    "headers into third_party/cudnn_frontend) and rebuild";
}  // namespace

void load_cudnn() { fail("{}", kNoFrontend); }

CudnnConv::~CudnnConv() = default;

bool CudnnConv::conv2d(const void*, const void*, const void* bias, void*, const ref::Conv2dShape& s, DType dtype,
                       cudaStream_t) {
  fail("cuDNN convolution of {}: {}", describe({s, dtype, bias != nullptr}), kNoFrontend);
}

#endif

}  // namespace genrt
