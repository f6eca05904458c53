// Nascent's native engine: a small Node-API addon over libtorch.
//
// It builds a torch module from an engine plan (the IR lowered by src/engine/plan.ts), holds
// datasets in native memory (or on the GPU), and trains, evaluates and predicts off the JS thread
// in AsyncWorkers. No JavaScript runs per batch: progress is posted back through a
// ThreadSafeFunction without blocking training.

#include <napi.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <malloc.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

// ---------------------------------------------------------------------------------------------
// Process-wide settings

// Activations are freed and reallocated every batch. With glibc's defaults, buffers above the
// dynamic mmap threshold go back to the OS each time and come back as page faults (about 40% of
// training time measured here). Keep them in the heap instead. Node's worker threads that ran
// before the addon loaded already have arenas of their own, which glibc trims whenever their top
// chunk frees up, regardless of the trim threshold: M_TOP_PAD keeps 64 MiB there too.
bool TuneMalloc() {
  bool ok = mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024) == 1;
  ok = mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024) == 1 && ok;
  ok = mallopt(M_TOP_PAD, 64 * 1024 * 1024) == 1 && ok;
  ok = mallopt(M_ARENA_MAX, 1) == 1 && ok;
  return ok;
}
const bool kMallocTuned = TuneMalloc();

int HardwareCores() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

// Concurrent jobs share the cores: each job leases the threads it runs with, and waits while
// fewer cores are free, so two trainings never oversubscribe the machine.
class CoreLease {
 public:
  explicit CoreLease(int wanted) : count_(std::max(1, std::min(wanted, HardwareCores()))) {
    std::unique_lock<std::mutex> lock(mutex_);
    available_.wait(lock, [&] { return free_ >= count_; });
    free_ -= count_;
  }
  ~CoreLease() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      free_ += count_;
    }
    available_.notify_all();
  }
  int count() const { return count_; }

 private:
  int count_;
  static std::mutex mutex_;
  static std::condition_variable available_;
  static int free_;
};
std::mutex CoreLease::mutex_;
std::condition_variable CoreLease::available_;
int CoreLease::free_ = HardwareCores();

// A core lease for this worker thread, with libtorch's thread count set to it. libtorch keeps the
// count per calling thread, so every worker sets its own.
class ThreadLease {
 public:
  explicit ThreadLease(int64_t wanted) : lease_(wanted > 0 ? static_cast<int>(wanted) : HardwareCores()) {
    at::init_num_threads();
    at::set_num_threads(lease_.count());
  }
  int count() const { return lease_.count(); }

 private:
  CoreLease lease_;
};

// Module construction draws from torch's global generator: serialise it so seeds are honoured.
std::mutex gInitMutex;

std::string ErrorText(const std::exception& error) {
  if (auto* torchError = dynamic_cast<const c10::Error*>(&error)) {
    return torchError->what_without_backtrace();
  }
  return error.what();
}

// save(path) of the addon's objects: the module's parameters and buffers in libtorch's archive.
void SaveModule(const torch::nn::Module& module, const Napi::CallbackInfo& info) {
  try {
    torch::serialize::OutputArchive archive;
    module.save(archive);
    archive.save_to(info[0].As<Napi::String>().Utf8Value());
  } catch (const std::exception& error) {
    throw Napi::Error::New(info.Env(), "save: " + ErrorText(error));
  }
}

// load(path): the archive's tensors into the module, on `device`.
void LoadModule(torch::nn::Module& module, const Napi::CallbackInfo& info, const torch::Device& device) {
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(info[0].As<Napi::String>().Utf8Value(), device);
    module.load(archive);
  } catch (const std::exception& error) {
    throw Napi::Error::New(info.Env(), "load: " + ErrorText(error));
  }
}

torch::Device ParseDevice(const std::string& name) {
  torch::Device device(name);
  if (device.is_cuda() && !torch::cuda::is_available()) {
    throw std::runtime_error("device '" + name +
                             "' requested, but this libtorch has no usable CUDA device "
                             "(built without CUDA, or no GPU visible)");
  }
  return device;
}

// ---------------------------------------------------------------------------------------------
// Reading the plan

int64_t GetInt(const Napi::Object& object, const char* key) {
  Napi::Value value = object.Get(key);
  if (!value.IsNumber()) throw std::runtime_error(std::string("plan field '") + key + "' must be a number");
  return value.As<Napi::Number>().Int64Value();
}
double GetDouble(const Napi::Object& object, const char* key, double fallback) {
  Napi::Value value = object.Get(key);
  return value.IsNumber() ? value.As<Napi::Number>().DoubleValue() : fallback;
}
bool GetBool(const Napi::Object& object, const char* key, bool fallback) {
  Napi::Value value = object.Get(key);
  return value.IsBoolean() ? value.As<Napi::Boolean>().Value() : fallback;
}
std::string GetString(const Napi::Object& object, const char* key, const std::string& fallback) {
  Napi::Value value = object.Get(key);
  return value.IsString() ? value.As<Napi::String>().Utf8Value() : fallback;
}
std::vector<int64_t> GetIntArray(const Napi::Object& object, const char* key) {
  std::vector<int64_t> out;
  Napi::Value value = object.Get(key);
  if (!value.IsArray()) return out;
  Napi::Array array = value.As<Napi::Array>();
  for (uint32_t i = 0; i < array.Length(); ++i) out.push_back(array.Get(i).As<Napi::Number>().Int64Value());
  return out;
}
std::vector<double> GetDoubleArray(const Napi::Object& object, const char* key) {
  std::vector<double> out;
  Napi::Value value = object.Get(key);
  if (!value.IsArray()) return out;
  Napi::Array array = value.As<Napi::Array>();
  for (uint32_t i = 0; i < array.Length(); ++i) out.push_back(array.Get(i).As<Napi::Number>().DoubleValue());
  return out;
}

// ---------------------------------------------------------------------------------------------
// The network: a graph of steps executed in order

enum class Op { Input, Conv, MaxPool, AvgPool, GlobalAvgPool, BatchNorm, Dropout, Flatten, Dense, Activation, Add, Mul, Concat, Mix };
enum class Act { Relu, Sigmoid, Tanh, Swish, Gelu, Elu, LeakyRelu };

Op ParseOp(const std::string& name) {
  static const std::vector<std::pair<std::string, Op>> ops = {
      {"input", Op::Input},         {"conv2d", Op::Conv},          {"maxpool2d", Op::MaxPool},
      {"avgpool2d", Op::AvgPool},   {"global_avg_pool", Op::GlobalAvgPool},
      {"batchnorm", Op::BatchNorm}, {"dropout", Op::Dropout},      {"flatten", Op::Flatten},
      {"dense", Op::Dense},         {"activation", Op::Activation}, {"add", Op::Add},
      {"mul", Op::Mul},             {"concat", Op::Concat},        {"mix", Op::Mix}};
  for (const auto& [key, op] : ops) {
    if (key == name) return op;
  }
  throw std::runtime_error("unknown op '" + name + "' in engine plan");
}

Act ParseActivation(const std::string& name) {
  static const std::vector<std::pair<std::string, Act>> acts = {
      {"relu", Act::Relu}, {"sigmoid", Act::Sigmoid}, {"tanh", Act::Tanh},
      {"swish", Act::Swish}, {"gelu", Act::Gelu}, {"elu", Act::Elu}, {"leaky_relu", Act::LeakyRelu}};
  for (const auto& [key, act] : acts) {
    if (key == name) return act;
  }
  throw std::runtime_error("unknown activation '" + name + "'");
}

struct Step {
  Op op = Op::Input;
  std::vector<size_t> inputs;
  // conv / pools
  int64_t kernel = 1, stride = 1;
  std::array<int64_t, 4> pads{0, 0, 0, 0};  // top, bottom, left, right
  bool symmetric = true;
  double rate = 0;
  Act act = Act::Relu;
  torch::nn::Conv2d conv{nullptr};
  torch::nn::Linear dense{nullptr};
  torch::nn::BatchNorm2d bn2{nullptr};
  torch::nn::BatchNorm1d bn1{nullptr};
};

struct GraphNetImpl : torch::nn::Module {
  std::vector<Step> steps;
  std::vector<size_t> lastUse;
  size_t output = 0;
  // When set, forward() appends each activation's binary input pattern (x > 0), one row per
  // sample: the codes of the NASWOT proxy.
  std::vector<torch::Tensor>* activationCodes = nullptr;
  // When set, forward() appends each convolution's output (detached): the feature maps of MeCo.
  std::vector<torch::Tensor>* convOutputs = nullptr;
  // The steps whose outputs end the network's blocks, in order (a step may repeat: a block that is
  // the identity ends on its input); from the plan's `blocks`. When blockOutputs is set, forward()
  // appends those outputs, still in the autograd graph: the features of AZ-NAS.
  std::vector<size_t> blockSteps;
  std::vector<torch::Tensor>* blockOutputs = nullptr;
  // When set, forward() holds batch norm's batch statistics constant (the batch's mean and
  // variance, detached), so that each sample's output depends on that sample's input alone, and
  // appends, for every convolution, dense and batch-norm step with a weight, what its per-sample
  // weight gradients are computed from: the tensor the weight multiplies (the padded input, the
  // input, the normalised input) and the step's output. The NTK proxy's one-pass recording.
  struct WeightUse {
    size_t step;
    torch::Tensor multiplied, output;
  };
  std::vector<WeightUse>* weightUses = nullptr;
  // Architecture weights of a mixture network (DARTS): every `mix` step outputs the
  // softmax(alpha)-weighted sum of its k inputs, all mix steps sharing this one vector of k.
  // Undefined when the plan has no mix step. Registered as the parameter "arch_alpha".
  torch::Tensor alpha;

  GraphNetImpl(const Napi::Object& plan, const std::string& init) {
    Napi::Array nodes = plan.Get("nodes").As<Napi::Array>();
    for (uint32_t i = 0; i < nodes.Length(); ++i) {
      Napi::Object node = nodes.Get(i).As<Napi::Object>();
      Step step;
      step.op = ParseOp(GetString(node, "op", ""));
      for (int64_t input : GetIntArray(node, "inputs")) {
        if (input < 0 || static_cast<uint32_t>(input) >= i) throw std::runtime_error("engine plan: bad input index");
        step.inputs.push_back(static_cast<size_t>(input));
      }
      std::string name = GetString(node, "name", "n" + std::to_string(i));
      switch (step.op) {
        case Op::Conv: {
          step.kernel = GetInt(node, "kernel");
          step.stride = GetInt(node, "stride");
          auto pads = GetIntArray(node, "pads");
          if (pads.size() != 4) throw std::runtime_error("engine plan: conv needs 4 pads");
          std::copy(pads.begin(), pads.end(), step.pads.begin());
          step.symmetric = pads[0] == pads[1] && pads[2] == pads[3];
          auto options = torch::nn::Conv2dOptions(GetInt(node, "inChannels"), GetInt(node, "outChannels"), step.kernel)
                             .stride(step.stride)
                             .dilation(GetInt(node, "dilation"))
                             .groups(GetInt(node, "groups"))
                             .bias(GetBool(node, "bias", true));
          if (step.symmetric) options.padding(torch::ExpandingArray<2>({pads[0], pads[2]}));
          step.conv = register_module(name, torch::nn::Conv2d(options));
          break;
        }
        case Op::MaxPool:
        case Op::AvgPool: {
          step.kernel = GetInt(node, "kernel");
          step.stride = GetInt(node, "stride");
          auto pads = GetIntArray(node, "pads");
          if (pads.size() != 4) throw std::runtime_error("engine plan: pool needs 4 pads");
          std::copy(pads.begin(), pads.end(), step.pads.begin());
          break;
        }
        case Op::BatchNorm: {
          int64_t features = GetInt(node, "features");
          if (GetBool(node, "spatial", true)) {
            step.bn2 = register_module(name, torch::nn::BatchNorm2d(features));
          } else {
            step.bn1 = register_module(name, torch::nn::BatchNorm1d(features));
          }
          break;
        }
        case Op::Dropout:
          step.rate = GetDouble(node, "rate", 0);
          break;
        case Op::Dense:
          step.dense = register_module(
              name, torch::nn::Linear(torch::nn::LinearOptions(GetInt(node, "inFeatures"), GetInt(node, "outFeatures"))
                                          .bias(GetBool(node, "bias", true))));
          break;
        case Op::Activation:
          step.act = ParseActivation(GetString(node, "fn", ""));
          break;
        case Op::Mix: {
          const int64_t k = static_cast<int64_t>(step.inputs.size());
          if (k < 2) throw std::runtime_error("engine plan: a mix step needs at least 2 inputs");
          if (!alpha.defined()) {
            alpha = register_parameter("arch_alpha", torch::zeros({k}));
          } else if (alpha.size(0) != k) {
            throw std::runtime_error("engine plan: every mix step must have the same number of inputs");
          }
          break;
        }
        default:
          break;
      }
      steps.push_back(std::move(step));
    }
    output = static_cast<size_t>(GetInt(plan, "output"));
    if (steps.empty() || output >= steps.size()) throw std::runtime_error("engine plan: bad output index");
    if (plan.Has("blocks")) {
      for (int64_t block : GetIntArray(plan, "blocks")) {
        if (block < 0 || static_cast<size_t>(block) >= steps.size()) throw std::runtime_error("engine plan: bad block index");
        blockSteps.push_back(static_cast<size_t>(block));
      }
    }
    lastUse.assign(steps.size(), 0);
    for (size_t i = 0; i < steps.size(); ++i) {
      for (size_t input : steps[i].inputs) lastUse[input] = std::max(lastUse[input], i);
    }
    lastUse[output] = steps.size();
    Initialise(init);
  }

  void Initialise(const std::string& init) {
    torch::NoGradGuard noGrad;
    if (init == "torch") return;
    for (auto& step : steps) {
      torch::Tensor weight, bias;
      if (step.conv) {
        weight = step.conv->weight;
        bias = step.conv->bias;
      } else if (step.dense) {
        weight = step.dense->weight;
        bias = step.dense->bias;
      } else {
        continue;
      }
      if (init == "glorot") {
        torch::nn::init::xavier_uniform_(weight);
      } else if (init == "kaiming" || init == "kaiming-fan-in") {
        // kaiming: fan_out for convolutions (torchvision's ResNets); kaiming-fan-in: fan_in for
        // every layer (AZ-NAS and Zen-NAS score networks at this one).
        torch::nn::init::FanModeType mode = torch::kFanIn;
        if (step.conv && init == "kaiming") mode = torch::kFanOut;
        torch::nn::init::kaiming_normal_(weight, 0.0, mode, torch::kReLU);
      } else {
        throw std::runtime_error("unknown init '" + init + "' (expected glorot, kaiming, kaiming-fan-in or torch)");
      }
      if (bias.defined()) torch::nn::init::zeros_(bias);
    }
  }

  static torch::Tensor Activate(const torch::Tensor& x, Act act) {
    switch (act) {
      case Act::Relu: return torch::relu(x);
      case Act::Sigmoid: return torch::sigmoid(x);
      case Act::Tanh: return torch::tanh(x);
      case Act::Swish: return torch::silu(x);
      case Act::Gelu: return torch::gelu(x);
      case Act::Elu: return torch::elu(x);
      case Act::LeakyRelu: return torch::leaky_relu(x, 0.01);
    }
    return x;
  }

  // Batch norm with the batch's statistics as constants: (x - mean) / sqrt(var + eps) * w + b, the
  // mean and biased variance over the batch (and positions) detached; the normalised input is
  // recorded as what the weight multiplies.
  torch::Tensor FrozenStatisticsBatchNorm(const Step& step, const torch::Tensor& x, size_t i) {
    const bool spatial = static_cast<bool>(step.bn2);
    const auto& options = spatial ? step.bn2->options : step.bn1->options;
    std::vector<int64_t> dims = spatial ? std::vector<int64_t>{0, 2, 3} : std::vector<int64_t>{0};
    torch::Tensor mean, variance;
    {
      torch::NoGradGuard noGrad;
      mean = x.mean(dims, /*keepdim=*/true);
      variance = x.var(dims, /*unbiased=*/false, /*keepdim=*/true);
    }
    torch::Tensor normalised = (x - mean) / torch::sqrt(variance + options.eps());
    if (!options.affine()) return normalised;
    const torch::Tensor& weight = spatial ? step.bn2->weight : step.bn1->weight;
    const torch::Tensor& bias = spatial ? step.bn2->bias : step.bn1->bias;
    std::vector<int64_t> shape(static_cast<size_t>(x.dim()), 1);
    shape[1] = -1;
    torch::Tensor y = normalised * weight.reshape(shape) + bias.reshape(shape);
    weightUses->push_back({i, normalised, y});
    return y;
  }

  torch::Tensor forward(const torch::Tensor& input) {
    std::vector<torch::Tensor> values(steps.size());
    for (size_t i = 0; i < steps.size(); ++i) {
      Step& step = steps[i];
      const torch::Tensor& x = step.inputs.empty() ? input : values[step.inputs[0]];
      torch::Tensor y;
      switch (step.op) {
        case Op::Input: y = input; break;
        case Op::Conv: {
          const torch::Tensor padded =
              step.symmetric ? x : torch::constant_pad_nd(x, {step.pads[2], step.pads[3], step.pads[0], step.pads[1]}, 0);
          y = step.conv->forward(padded);
          if (convOutputs != nullptr) convOutputs->push_back(y.detach());
          if (weightUses != nullptr) weightUses->push_back({i, padded, y});
          break;
        }
        case Op::MaxPool:
          y = torch::max_pool2d(x, {step.kernel, step.kernel}, {step.stride, step.stride}, {step.pads[0], step.pads[2]});
          break;
        case Op::AvgPool:
          y = torch::avg_pool2d(x, {step.kernel, step.kernel}, {step.stride, step.stride}, {step.pads[0], step.pads[2]},
                                false, /*count_include_pad=*/false);
          break;
        case Op::GlobalAvgPool: y = x.mean({2, 3}); break;
        case Op::BatchNorm:
          if (weightUses != nullptr) {
            y = FrozenStatisticsBatchNorm(step, x, i);
          } else {
            y = step.bn2 ? step.bn2->forward(x) : step.bn1->forward(x);
          }
          break;
        case Op::Dropout: y = torch::dropout(x, step.rate, is_training()); break;
        case Op::Flatten: y = x.flatten(1); break;
        case Op::Dense:
          y = step.dense->forward(x);
          if (weightUses != nullptr) weightUses->push_back({i, x, y});
          break;
        case Op::Activation:
          if (activationCodes != nullptr) activationCodes->push_back((x > 0).flatten(1));
          y = Activate(x, step.act);
          break;
        case Op::Add: {
          y = values[step.inputs[0]];
          for (size_t k = 1; k < step.inputs.size(); ++k) y = y + values[step.inputs[k]];
          break;
        }
        case Op::Mul: {
          // A map times a same-shaped map, or times one gate value per channel ([N, C] -> [N, C, 1, 1]).
          const torch::Tensor& gate = values[step.inputs[1]];
          y = gate.dim() == 2 && x.dim() == 4 ? x * gate.unsqueeze(-1).unsqueeze(-1) : x * gate;
          break;
        }
        case Op::Concat: {
          std::vector<torch::Tensor> parts;
          for (size_t input : step.inputs) parts.push_back(values[input]);
          y = torch::cat(parts, 1);
          break;
        }
        case Op::Mix: {
          torch::Tensor w = torch::softmax(alpha, 0);
          y = values[step.inputs[0]] * w[0];
          for (size_t k = 1; k < step.inputs.size(); ++k) y = y + values[step.inputs[k]] * w[static_cast<int64_t>(k)];
          break;
        }
      }
      values[i] = std::move(y);
      if (blockOutputs != nullptr) {
        for (size_t block : blockSteps) {
          if (block == i) blockOutputs->push_back(values[i]);
        }
      }
      for (size_t input : step.inputs) {
        if (lastUse[input] == i) values[input] = torch::Tensor();  // free early
      }
    }
    return values[output];
  }
};
TORCH_MODULE(GraphNet);

// ---------------------------------------------------------------------------------------------
// Dataset: images and labels resident in native (or GPU) memory

// Datasets copied into native memory since the addon loaded (engine info `datasetCopies`): what
// lets a test check that a search copies its data once, not once per candidate.
std::atomic<int64_t> gDatasetCopies{0};

class Dataset : public Napi::ObjectWrap<Dataset> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Dataset",
                       {InstanceAccessor<&Dataset::Count>("count"), InstanceAccessor<&Dataset::DeviceName>("device"),
                        InstanceMethod<&Dataset::Release>("release")});
  }

  // new Dataset(images: Uint8Array, labels: Uint8Array, { count, channels, height, width, mean, std, device })
  explicit Dataset(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Dataset>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 3 || !info[0].IsTypedArray() || !info[1].IsTypedArray() || !info[2].IsObject()) {
      throw Napi::TypeError::New(env, "Dataset(images: Uint8Array, labels: Uint8Array, shape: object)");
    }
    auto images = info[0].As<Napi::Uint8Array>();
    auto labels = info[1].As<Napi::Uint8Array>();
    Napi::Object shape = info[2].As<Napi::Object>();
    int64_t count = GetInt(shape, "count"), channels = GetInt(shape, "channels");
    int64_t height = GetInt(shape, "height"), width = GetInt(shape, "width");
    if (static_cast<int64_t>(images.ByteLength()) != count * channels * height * width ||
        static_cast<int64_t>(labels.ByteLength()) != count) {
      throw Napi::RangeError::New(env, "Dataset: buffer sizes do not match count x channels x height x width");
    }
    std::vector<double> mean = GetDoubleArray(shape, "mean"), std = GetDoubleArray(shape, "std");
    try {
      torch::Device device = ParseDevice(GetString(shape, "device", "cpu"));
      torch::Tensor bytes = torch::from_blob(images.Data(), {count, channels, height, width}, torch::kUInt8);
      torch::Tensor x = bytes.to(torch::kFloat32).div_(255.0);
      if (mean.size() == static_cast<size_t>(channels) && std.size() == static_cast<size_t>(channels)) {
        auto m = torch::tensor(std::vector<float>(mean.begin(), mean.end())).view({1, channels, 1, 1});
        auto s = torch::tensor(std::vector<float>(std.begin(), std.end())).view({1, channels, 1, 1});
        x.sub_(m).div_(s);
        blackPixel_ = m.neg().div(s).to(device);
      } else {
        blackPixel_ = torch::zeros({1, channels, 1, 1}).to(device);
      }
      images_ = x.to(device).contiguous();
      gDatasetCopies.fetch_add(1);
      labels_ = torch::from_blob(labels.Data(), {count}, torch::kUInt8).to(torch::kInt64).to(device);
      if (count > 0 && labels_.max().item<int64_t>() >= GetInt(shape, "classes")) {
        throw std::runtime_error("a label is not below the class count");
      }
    } catch (const std::exception& error) {
      throw Napi::Error::New(env, "Dataset: " + ErrorText(error));
    }
  }

  torch::Tensor images_, labels_;
  // The value a black (0) pixel has after normalisation, per channel: what crop padding fills in.
  torch::Tensor blackPixel_;

 private:
  Napi::Value Count(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), images_.defined() ? static_cast<double>(images_.size(0)) : 0);
  }
  Napi::Value DeviceName(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), images_.defined() ? images_.device().str() : "released");
  }
  void Release(const Napi::CallbackInfo&) {
    images_ = torch::Tensor();
    labels_ = torch::Tensor();
  }
};

Napi::FunctionReference* gDatasetConstructor = nullptr;

Dataset* UnwrapDataset(const Napi::Value& value, const char* what) {
  if (!value.IsObject() || !value.As<Napi::Object>().InstanceOf(gDatasetConstructor->Value())) {
    throw Napi::TypeError::New(value.Env(), std::string(what) + " must be a native Dataset");
  }
  Dataset* dataset = Dataset::Unwrap(value.As<Napi::Object>());
  if (!dataset->images_.defined()) throw Napi::Error::New(value.Env(), std::string(what) + " was released");
  return dataset;
}

// ---------------------------------------------------------------------------------------------
// Training options and results

struct TrainOptions {
  int64_t epochs = 1, batchSize = 128, threads = 0, maxStepsPerEpoch = 0, progressEvery = 0;
  uint64_t seed = 0;
  std::string optimizer = "adamw", schedule = "constant";
  double lr = 1e-3, weightDecay = 0, momentum = 0.9, eps = 1e-8, beta1 = 0.9, beta2 = 0.999;
  bool nesterov = false, staircase = false, restoreBest = false;
  double decaySteps = 1, decayRate = 1, gamma = 0.1;
  std::vector<int64_t> milestones;
  int64_t patience = -1;  // < 0: no early stopping
  double minDelta = 0;
  int64_t evalBatchSize = 1024;
  // Augmentation of training batches: random crops of the image padded by this many black pixels
  // on each side (0: none), and random horizontal flips.
  int64_t cropPadding = 0;
  bool flip = false;
  // Mixture networks (DARTS, first order): after every weight step, one Adam step of this
  // learning rate on the architecture weights, on a batch of the validation set. 0: alpha is
  // frozen (and never trained with the weights).
  double architectureLr = 0;
  // Training in segments: the learning-rate schedule is defined over `scheduleEpochs` (0: epochs),
  // and the call returns with status "paused" after `untilEpoch` (0: epochs). A later call with
  // `continue: true` goes on from there with the same optimizer, step count, random engines and
  // early-stopping state, so the segments give exactly the records of one training.
  int64_t scheduleEpochs = 0, untilEpoch = 0;
  // The final recipe: the learning rate rises linearly over the first `warmupEpochs` (0: none)
  // before its schedule (cosine then runs over the remaining steps), and the training loss uses
  // label smoothing (0: none; the validation and test losses never do).
  double warmupEpochs = 0, labelSmoothing = 0;
};

TrainOptions ReadTrainOptions(const Napi::Object& o) {
  TrainOptions t;
  t.epochs = GetInt(o, "epochs");
  t.batchSize = GetInt(o, "batchSize");
  t.threads = static_cast<int64_t>(GetDouble(o, "threads", 0));
  t.maxStepsPerEpoch = static_cast<int64_t>(GetDouble(o, "maxStepsPerEpoch", 0));
  t.progressEvery = static_cast<int64_t>(GetDouble(o, "progressEvery", 0));
  t.seed = static_cast<uint64_t>(GetDouble(o, "seed", 0));
  t.optimizer = GetString(o, "optimizer", t.optimizer);
  t.schedule = GetString(o, "schedule", t.schedule);
  t.lr = GetDouble(o, "lr", t.lr);
  t.weightDecay = GetDouble(o, "weightDecay", t.weightDecay);
  t.momentum = GetDouble(o, "momentum", t.momentum);
  t.eps = GetDouble(o, "eps", t.eps);
  t.beta1 = GetDouble(o, "beta1", t.beta1);
  t.beta2 = GetDouble(o, "beta2", t.beta2);
  t.nesterov = GetBool(o, "nesterov", t.nesterov);
  t.staircase = GetBool(o, "staircase", t.staircase);
  t.restoreBest = GetBool(o, "restoreBest", t.restoreBest);
  t.decaySteps = GetDouble(o, "decaySteps", t.decaySteps);
  t.decayRate = GetDouble(o, "decayRate", t.decayRate);
  t.gamma = GetDouble(o, "gamma", t.gamma);
  t.milestones = GetIntArray(o, "milestones");
  t.patience = static_cast<int64_t>(GetDouble(o, "patience", -1));
  t.minDelta = GetDouble(o, "minDelta", 0);
  t.evalBatchSize = static_cast<int64_t>(GetDouble(o, "evalBatchSize", 1024));
  t.cropPadding = static_cast<int64_t>(GetDouble(o, "cropPadding", 0));
  t.flip = GetBool(o, "flip", false);
  t.architectureLr = GetDouble(o, "architectureLr", 0);
  t.warmupEpochs = GetDouble(o, "warmupEpochs", 0);
  t.labelSmoothing = GetDouble(o, "labelSmoothing", 0);
  if (t.warmupEpochs < 0) throw std::runtime_error("warmupEpochs must be at least 0");
  if (t.labelSmoothing < 0 || t.labelSmoothing >= 1) throw std::runtime_error("labelSmoothing must be in [0, 1)");
  if (t.architectureLr < 0) throw std::runtime_error("architectureLr must be at least 0");
  if (t.cropPadding < 0) throw std::runtime_error("cropPadding must be at least 0");
  if (t.epochs < 1 || t.batchSize < 1) throw std::runtime_error("epochs and batchSize must be at least 1");
  t.scheduleEpochs = static_cast<int64_t>(GetDouble(o, "scheduleEpochs", static_cast<double>(t.epochs)));
  t.untilEpoch = static_cast<int64_t>(GetDouble(o, "untilEpoch", static_cast<double>(t.epochs)));
  if (t.scheduleEpochs < 1) throw std::runtime_error("scheduleEpochs must be at least 1");
  if (t.untilEpoch < 1 || t.untilEpoch > t.epochs)
    throw std::runtime_error("untilEpoch must be between 1 and epochs (" + std::to_string(t.epochs) + ")");
  return t;
}

struct EpochRecord {
  int64_t epoch = 0;
  double trainLoss = 0, trainAccuracy = 0, valLoss = NAN, valAccuracy = NAN, lr = 0, seconds = 0;
};

struct ProgressEvent {
  bool epochEnd = false;
  int64_t epoch = 0, batch = 0, batches = 0;
  double loss = 0;
  EpochRecord record;
};

Napi::Object EpochToJs(Napi::Env env, const EpochRecord& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("epoch", static_cast<double>(r.epoch));
  o.Set("trainLoss", r.trainLoss);
  o.Set("trainAccuracy", r.trainAccuracy);
  o.Set("valLoss", std::isnan(r.valLoss) ? env.Null() : Napi::Number::New(env, r.valLoss));
  o.Set("valAccuracy", std::isnan(r.valAccuracy) ? env.Null() : Napi::Number::New(env, r.valAccuracy));
  o.Set("lr", r.lr);
  o.Set("seconds", r.seconds);
  return o;
}

struct EvalResult {
  double loss = 0, accuracy = 0;
  int64_t count = 0;
};

// Loss and accuracy over a dataset, in eval mode, without gradients.
EvalResult EvaluateOn(GraphNet& net, const torch::Tensor& images, const torch::Tensor& labels, int64_t batchSize,
                      const torch::Device& device) {
  torch::NoGradGuard noGrad;
  bool wasTraining = net->is_training();
  net->eval();
  int64_t n = images.size(0);
  torch::Tensor lossSum = torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat64).device(device));
  torch::Tensor correct = torch::zeros({}, torch::TensorOptions().dtype(torch::kInt64).device(device));
  for (int64_t start = 0; start < n; start += batchSize) {
    int64_t end = std::min(n, start + batchSize);
    torch::Tensor x = images.slice(0, start, end).to(device), y = labels.slice(0, start, end).to(device);
    torch::Tensor logits = net->forward(x);
    lossSum += torch::nn::functional::cross_entropy(
                   logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                   .to(torch::kFloat64);
    correct += logits.argmax(1).eq(y).sum();
  }
  if (wasTraining) net->train();
  EvalResult result;
  result.count = n;
  if (n > 0) {
    result.loss = lossSum.item<double>() / static_cast<double>(n);
    result.accuracy = static_cast<double>(correct.item<int64_t>()) / static_cast<double>(n);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Model

class Model;

// Everything a paused training needs to go on exactly as if it had never paused. Kept by the
// Model between a call that returns "paused" and the call with `continue: true` that resumes it.
struct TrainState {
  TrainOptions options;
  // The data it trains on: a continuation must hand over the same datasets.
  torch::Tensor trainX, valX;
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  std::unique_ptr<torch::optim::Adam> alphaOptimizer;
  std::mt19937_64 shuffleEngine, augmentEngine, valEngine;
  std::vector<int64_t> valOrder;
  size_t valNext = 0;
  // Early stopping (Keras semantics) and the restoreBest snapshot.
  std::vector<std::pair<std::string, torch::Tensor>> best;
  double bestLoss = INFINITY;
  int64_t sinceImprovement = 0, bestEpoch = 0;
  // Epochs completed, weight steps taken (the schedule's clock), images seen, seconds trained.
  int64_t epoch = 0, steps = 0, images = 0;
  double seconds = 0;
  std::vector<EpochRecord> epochs;
  // The global generators (dropout draws from them) as the pause left them.
  torch::Tensor cpuGenerator, deviceGenerator;
};

class TrainWorker : public Napi::AsyncWorker {
 public:
  TrainWorker(Napi::Env env, Model* model, Napi::Object modelRef, Dataset* train, Napi::Object trainRef,
              Dataset* validation, Napi::Value validationRef, TrainOptions options, Napi::Function onProgress,
              std::shared_ptr<TrainState> resumed);
  ~TrainWorker() override;
  void Execute() override;
  void OnOK() override;
  void OnError(const Napi::Error& error) override;
  Napi::Promise Promise() { return deferred_.Promise(); }

 private:
  void Post(ProgressEvent* event);
  void Finish();
  void Settle(Napi::Value value, bool ok);
  Model* model_;
  Napi::ObjectReference modelRef_, trainRef_, validationRef_;
  torch::Tensor trainX_, trainY_, valX_, valY_, trainBlack_;
  TrainOptions options_;
  Napi::Promise::Deferred deferred_;
  Napi::ThreadSafeFunction progress_;
  bool hasProgress_ = false;
  // The training's state: fresh, or the paused one this call resumes (null until Execute builds it).
  std::shared_ptr<TrainState> state_;
  // results
  std::string status_ = "completed";
  std::string reason_;
  int64_t threads_ = 0;
};

class Model : public Napi::ObjectWrap<Model> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Model",
                       {InstanceMethod<&Model::Train>("train"), InstanceMethod<&Model::Evaluate>("evaluate"),
                        InstanceMethod<&Model::Predict>("predict"), InstanceMethod<&Model::Proxies>("proxies"),
                        InstanceMethod<&Model::Stop>("stop"),
                        InstanceMethod<&Model::DiscardTraining>("discardTraining"),
                        InstanceAccessor<&Model::PausedEpoch>("pausedEpoch"),
                        InstanceMethod<&Model::ParameterCount>("parameterCount"),
                        InstanceMethod<&Model::GetWeights>("getWeights"),
                        InstanceMethod<&Model::SetWeights>("setWeights"), InstanceMethod<&Model::Save>("save"),
                        InstanceMethod<&Model::Load>("load"), InstanceAccessor<&Model::DeviceName>("device")});
  }

  // new Model(plan, { device, init, seed })
  explicit Model(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Model>(info), device_(torch::kCPU) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsObject()) {
      throw Napi::TypeError::New(env, "Model(plan: object, options: object)");
    }
    Napi::Object options = info[1].As<Napi::Object>();
    try {
      device_ = ParseDevice(GetString(options, "device", "cpu"));
      std::lock_guard<std::mutex> lock(gInitMutex);
      torch::manual_seed(static_cast<uint64_t>(GetDouble(options, "seed", 0)));
      net_ = GraphNet(info[0].As<Napi::Object>(), GetString(options, "init", "torch"));
      net_->to(device_);
    } catch (const Napi::Error&) {
      throw;
    } catch (const std::exception& error) {
      throw Napi::Error::New(env, "Model: " + ErrorText(error));
    }
  }

  GraphNet net_{nullptr};
  torch::Device device_;
  std::atomic<bool> busy_{false};
  std::atomic<bool> stopRequested_{false};
  // A paused training (status "paused"), for `train(..., { continue: true })`; null otherwise.
  std::shared_ptr<TrainState> training_;

 private:
  void EnsureIdle(Napi::Env env) {
    if (busy_.load()) throw Napi::Error::New(env, "the model is busy with another training or evaluation");
  }

  Napi::Value Train(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    EnsureIdle(env);
    Dataset* train = UnwrapDataset(info[0], "training set");
    Dataset* validation = info[1].IsNull() || info[1].IsUndefined() ? nullptr : UnwrapDataset(info[1], "validation set");
    if (!info[2].IsObject()) throw Napi::TypeError::New(env, "train: options must be an object");
    Napi::Object given = info[2].As<Napi::Object>();
    TrainOptions options;
    std::shared_ptr<TrainState> resumed;
    if (GetBool(given, "continue", false)) {
      // Resume the paused training with its own options; only where it pauses or ends, and how it
      // reports, may change.
      if (!training_) throw Napi::Error::New(env, "train: continue needs a paused training, and this model has none");
      resumed = training_;
      options = resumed->options;
      options.epochs = static_cast<int64_t>(GetDouble(given, "epochs", static_cast<double>(options.epochs)));
      options.untilEpoch = static_cast<int64_t>(GetDouble(given, "untilEpoch", static_cast<double>(options.epochs)));
      options.progressEvery = static_cast<int64_t>(GetDouble(given, "progressEvery", static_cast<double>(options.progressEvery)));
      options.threads = static_cast<int64_t>(GetDouble(given, "threads", static_cast<double>(options.threads)));
      options.evalBatchSize = static_cast<int64_t>(GetDouble(given, "evalBatchSize", static_cast<double>(options.evalBatchSize)));
      if (options.epochs < resumed->epoch || options.untilEpoch < resumed->epoch || options.untilEpoch > options.epochs) {
        throw Napi::Error::New(env, "train: continue after epoch " + std::to_string(resumed->epoch) +
                                        " needs epochs >= untilEpoch >= " + std::to_string(resumed->epoch) +
                                        " (got epochs " + std::to_string(options.epochs) + ", untilEpoch " +
                                        std::to_string(options.untilEpoch) + ")");
      }
      if (!train->images_.is_same(resumed->trainX) ||
          (validation == nullptr ? resumed->valX.defined() : !validation->images_.is_same(resumed->valX))) {
        throw Napi::Error::New(env, "train: continue needs the same training and validation sets as the paused training");
      }
    } else {
      try {
        options = ReadTrainOptions(given);
      } catch (const std::exception& error) {
        throw Napi::Error::New(env, std::string("train: ") + error.what());
      }
      if (options.patience >= 0 && validation == nullptr) {
        throw Napi::Error::New(env, "train: early stopping needs a validation set");
      }
    }
    training_.reset();
    Napi::Function onProgress = info.Length() > 3 && info[3].IsFunction() ? info[3].As<Napi::Function>() : Napi::Function();
    busy_ = true;
    stopRequested_ = false;
    auto* worker = new TrainWorker(env, this, Value(), train, info[0].As<Napi::Object>(), validation, info[1],
                                   options, onProgress, resumed);
    Napi::Promise promise = worker->Promise();
    worker->Queue();
    return promise;
  }

  Napi::Value Evaluate(const Napi::CallbackInfo& info);
  Napi::Value Predict(const Napi::CallbackInfo& info);
  Napi::Value Proxies(const Napi::CallbackInfo& info);

  void Stop(const Napi::CallbackInfo&) { stopRequested_ = true; }

  // Drops a paused training's state (optimizer moments, snapshots) without ending it; the weights
  // stay as the pause left them.
  void DiscardTraining(const Napi::CallbackInfo& info) {
    EnsureIdle(info.Env());
    training_.reset();
  }

  // The epoch a paused training stopped after; null when none is paused.
  Napi::Value PausedEpoch(const Napi::CallbackInfo& info) {
    if (!training_) return info.Env().Null();
    return Napi::Number::New(info.Env(), static_cast<double>(training_->epoch));
  }

  Napi::Value ParameterCount(const Napi::CallbackInfo& info) {
    double total = 0;
    for (const auto& p : net_->parameters()) total += static_cast<double>(p.numel());
    return Napi::Number::New(info.Env(), total);
  }

  // { [name]: { shape: number[], data: Float32Array } } for parameters and floating-point buffers.
  Napi::Value GetWeights(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    EnsureIdle(env);
    Napi::Object out = Napi::Object::New(env);
    auto add = [&](const std::string& name, const torch::Tensor& tensor) {
      if (!tensor.is_floating_point()) return;
      torch::Tensor cpu = tensor.detach().to(torch::kCPU, torch::kFloat32).contiguous();
      Napi::Float32Array data = Napi::Float32Array::New(env, static_cast<size_t>(cpu.numel()));
      std::memcpy(data.Data(), cpu.data_ptr<float>(), sizeof(float) * static_cast<size_t>(cpu.numel()));
      Napi::Array shape = Napi::Array::New(env, cpu.dim());
      for (int64_t d = 0; d < cpu.dim(); ++d) shape.Set(static_cast<uint32_t>(d), static_cast<double>(cpu.size(d)));
      Napi::Object entry = Napi::Object::New(env);
      entry.Set("shape", shape);
      entry.Set("data", data);
      out.Set(name, entry);
    };
    for (const auto& item : net_->named_parameters()) add(item.key(), item.value());
    for (const auto& item : net_->named_buffers()) add(item.key(), item.value());
    return out;
  }

  // setWeights(weights): copies every given tensor into the parameter or buffer of the same name
  // and shape. Unknown names or shape mismatches throw before anything is copied.
  Napi::Value SetWeights(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    EnsureIdle(env);
    if (!info[0].IsObject()) throw Napi::TypeError::New(env, "setWeights(weights: object)");
    Napi::Object weights = info[0].As<Napi::Object>();
    std::map<std::string, torch::Tensor> targets;
    for (const auto& item : net_->named_parameters()) targets[item.key()] = item.value();
    for (const auto& item : net_->named_buffers()) targets[item.key()] = item.value();
    std::vector<std::pair<torch::Tensor, torch::Tensor>> copies;
    Napi::Array names = weights.GetPropertyNames();
    for (uint32_t i = 0; i < names.Length(); ++i) {
      std::string name = names.Get(i).As<Napi::String>().Utf8Value();
      auto target = targets.find(name);
      if (target == targets.end()) throw Napi::Error::New(env, "setWeights: the model has no tensor '" + name + "'");
      Napi::Object entry = weights.Get(name).As<Napi::Object>();
      Napi::Value dataValue = entry.Get("data");
      if (!dataValue.IsTypedArray() || dataValue.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
        throw Napi::TypeError::New(env, "setWeights: '" + name + "' data must be a Float32Array");
      }
      auto data = dataValue.As<Napi::Float32Array>();
      if (static_cast<int64_t>(data.ElementLength()) != target->second.numel()) {
        throw Napi::Error::New(env, "setWeights: '" + name + "' has " + std::to_string(data.ElementLength()) +
                                        " values, the model's tensor has " + std::to_string(target->second.numel()));
      }
      torch::Tensor source = torch::from_blob(data.Data(), target->second.sizes(), torch::kFloat32).clone();
      copies.emplace_back(target->second, source);
    }
    torch::NoGradGuard noGrad;
    for (auto& [target, source] : copies) target.copy_(source.to(target.device(), target.scalar_type()));
    return Napi::Number::New(env, static_cast<double>(copies.size()));
  }

  void Save(const Napi::CallbackInfo& info) {
    EnsureIdle(info.Env());
    SaveModule(*net_, info);
  }

  void Load(const Napi::CallbackInfo& info) {
    EnsureIdle(info.Env());
    LoadModule(*net_, info, device_);
  }

  Napi::Value DeviceName(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), device_.str()); }
};

// --- training ---

// Random crop (after padding each side with black pixels) and random horizontal flip, per image,
// on a batch already on the device. Draws from `engine`, so a seed gives the same augmentations.
torch::Tensor Augment(const torch::Tensor& x, const torch::Tensor& black, int64_t padding, bool flip,
                      std::mt19937_64& engine) {
  const int64_t count = x.size(0), height = x.size(2), width = x.size(3);
  torch::Tensor out = x;
  if (padding > 0) {
    torch::Tensor padded = black.expand({count, x.size(1), height + 2 * padding, width + 2 * padding}).clone();
    padded.narrow(2, padding, height).narrow(3, padding, width).copy_(x);
    out = torch::empty_like(x);
    std::uniform_int_distribution<int64_t> offset(0, 2 * padding);
    for (int64_t i = 0; i < count; ++i) {
      out[i].copy_(padded[i].narrow(1, offset(engine), height).narrow(2, offset(engine), width));
    }
  }
  if (flip) {
    std::vector<uint8_t> flips(static_cast<size_t>(count));
    std::bernoulli_distribution coin(0.5);
    for (auto& f : flips) f = coin(engine) ? 1 : 0;
    torch::Tensor mask = torch::from_blob(flips.data(), {count, 1, 1, 1}, torch::kUInt8).to(x.device()).to(torch::kBool);
    out = torch::where(mask, out.flip({3}), out);
  }
  return out;
}

TrainWorker::TrainWorker(Napi::Env env, Model* model, Napi::Object modelRef, Dataset* train, Napi::Object trainRef,
                         Dataset* validation, Napi::Value validationRef, TrainOptions options,
                         Napi::Function onProgress, std::shared_ptr<TrainState> resumed)
    : Napi::AsyncWorker(env, "nascent.train"),
      model_(model),
      modelRef_(Napi::Persistent(modelRef)),
      trainRef_(Napi::Persistent(trainRef)),
      trainX_(train->images_),
      trainY_(train->labels_),
      trainBlack_(train->blackPixel_),
      options_(std::move(options)),
      deferred_(Napi::Promise::Deferred::New(env)),
      state_(std::move(resumed)) {
  if (validation != nullptr) {
    validationRef_ = Napi::Persistent(validationRef.As<Napi::Object>());
    valX_ = validation->images_;
    valY_ = validation->labels_;
  }
  if (!onProgress.IsEmpty()) {
    progress_ = Napi::ThreadSafeFunction::New(env, onProgress, "nascent.progress", 0, 1);
    hasProgress_ = true;
  }
}

TrainWorker::~TrainWorker() = default;

void TrainWorker::Post(ProgressEvent* event) {
  if (!hasProgress_) {
    delete event;
    return;
  }
  napi_status status = progress_.NonBlockingCall(event, [](Napi::Env env, Napi::Function callback, ProgressEvent* e) {
    Napi::Object o = Napi::Object::New(env);
    if (e->epochEnd) {
      o.Set("type", "epoch");
      o.Set("record", EpochToJs(env, e->record));
    } else {
      o.Set("type", "batch");
      o.Set("epoch", static_cast<double>(e->epoch));
      o.Set("batch", static_cast<double>(e->batch));
      o.Set("batches", static_cast<double>(e->batches));
      o.Set("loss", e->loss);
    }
    delete e;
    callback.Call({o});
  });
  if (status != napi_ok) delete event;
}

// The global generators' states (dropout draws from them), to pause and resume a training exactly.
torch::Tensor GeneratorState(const torch::Device& device) {
  at::Generator generator = device.is_cuda() ? at::globalContext().defaultGenerator(device)
                                             : at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  return generator.get_state();
}
void SetGeneratorState(const torch::Device& device, const torch::Tensor& state) {
  at::Generator generator = device.is_cuda() ? at::globalContext().defaultGenerator(device)
                                             : at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  generator.set_state(state);
}

void TrainWorker::Execute() {
  try {
    ThreadLease lease(options_.threads);
    threads_ = lease.count();
    GraphNet& net = model_->net_;
    const torch::Device device = model_->device_;
    auto start = std::chrono::steady_clock::now();
    const bool resuming = state_ != nullptr;

    if (resuming) {
      state_->options = options_;
      SetGeneratorState(torch::kCPU, state_->cpuGenerator);
      if (device.is_cuda() && state_->deviceGenerator.defined()) SetGeneratorState(device, state_->deviceGenerator);
    } else {
      state_ = std::make_shared<TrainState>();
      state_->options = options_;
      state_->trainX = trainX_;
      state_->valX = valX_;
      torch::manual_seed(options_.seed);  // dropout draws from the global generator
      // The network's weights; a mixture network's architecture weights have an optimizer of their own.
      std::vector<torch::Tensor> weights;
      for (const auto& p : net->parameters()) {
        if (!net->alpha.defined() || !p.is_same(net->alpha)) weights.push_back(p);
      }
      if (options_.architectureLr > 0) {
        if (!net->alpha.defined()) throw std::runtime_error("architectureLr is set, but the network has no mix step");
        if (!valX_.defined() || valX_.size(0) == 0)
          throw std::runtime_error("training architecture weights needs a validation set");
        // DARTS' settings for alpha: Adam, betas (0.5, 0.999), weight decay 1e-3.
        state_->alphaOptimizer = std::make_unique<torch::optim::Adam>(
            std::vector<torch::Tensor>{net->alpha},
            torch::optim::AdamOptions(options_.architectureLr).betas({0.5, 0.999}).weight_decay(1e-3));
      }
      if (options_.optimizer == "adamw") {
        state_->optimizer = std::make_unique<torch::optim::AdamW>(
            weights, torch::optim::AdamWOptions(options_.lr)
                                   .weight_decay(options_.weightDecay)
                                   .eps(options_.eps)
                                   .betas({options_.beta1, options_.beta2}));
      } else if (options_.optimizer == "adam") {
        state_->optimizer = std::make_unique<torch::optim::Adam>(
            weights, torch::optim::AdamOptions(options_.lr)
                                   .weight_decay(options_.weightDecay)
                                   .eps(options_.eps)
                                   .betas({options_.beta1, options_.beta2}));
      } else if (options_.optimizer == "sgd") {
        state_->optimizer = std::make_unique<torch::optim::SGD>(
            weights, torch::optim::SGDOptions(options_.lr)
                                   .momentum(options_.momentum)
                                   .nesterov(options_.nesterov)
                                   .weight_decay(options_.weightDecay));
      } else {
        throw std::runtime_error("unknown optimizer '" + options_.optimizer + "' (expected adamw, adam or sgd)");
      }
      state_->shuffleEngine.seed(options_.seed);
      state_->augmentEngine.seed(options_.seed ^ 0x9E3779B97F4A7C15ULL);
      state_->valEngine.seed(options_.seed ^ 0xA5A5A5A5A5A5A5A5ULL);
    }
    TrainState& st = *state_;
    torch::optim::Optimizer& optimizer = *st.optimizer;
    torch::optim::Adam* alphaOptimizer = st.alphaOptimizer.get();

    const int64_t n = trainX_.size(0);
    if (n == 0) throw std::runtime_error("the training set is empty");
    int64_t stepsPerEpoch = (n + options_.batchSize - 1) / options_.batchSize;
    if (options_.maxStepsPerEpoch > 0) stepsPerEpoch = std::min(stepsPerEpoch, options_.maxStepsPerEpoch);
    // The schedule's length: its own epoch count, so a training paused and continued (or cut short
    // by a pruner) follows the schedule of the full training.
    const double totalSteps = static_cast<double>(stepsPerEpoch * options_.scheduleEpochs);
    const double warmupSteps = std::min(totalSteps - 1, std::round(options_.warmupEpochs * static_cast<double>(stepsPerEpoch)));
    auto scheduledRate = [&](int64_t step, int64_t epoch) {
      const double s = static_cast<double>(step);
      if (options_.schedule == "cosine" && warmupSteps > 0) {
        const double p = (std::min(s, totalSteps) - warmupSteps) / (totalSteps - warmupSteps);
        return options_.lr * 0.5 * (1.0 + std::cos(M_PI * std::max(p, 0.0)));
      }
      if (options_.schedule == "exponential") {
        double p = s / options_.decaySteps;
        if (options_.staircase) p = std::floor(p);
        return options_.lr * std::pow(options_.decayRate, p);
      }
      if (options_.schedule == "cosine")
        return options_.lr * 0.5 * (1.0 + std::cos(M_PI * std::min(s, totalSteps) / totalSteps));
      if (options_.schedule == "step") {
        int64_t passed = std::count_if(options_.milestones.begin(), options_.milestones.end(),
                                       [&](int64_t m) { return epoch >= m; });
        return options_.lr * std::pow(options_.gamma, static_cast<double>(passed));
      }
      if (options_.schedule == "constant") return options_.lr;
      throw std::runtime_error("unknown schedule '" + options_.schedule + "'");
    };
    auto learningRate = [&](int64_t step, int64_t epoch) {
      const double rate = scheduledRate(step, epoch);
      const double s = static_cast<double>(step);
      return warmupSteps > 0 && s < warmupSteps ? rate * (s + 1) / (warmupSteps + 1) : rate;
    };

    std::vector<int64_t> order(static_cast<size_t>(n));
    // Validation batches for the architecture steps, drawn in a seeded order, cycling.
    auto nextValidationIndex = [&]() {
      const int64_t count = valX_.size(0), take = std::min(count, options_.batchSize);
      if (st.valOrder.empty() || st.valNext + static_cast<size_t>(take) > st.valOrder.size()) {
        st.valOrder.resize(static_cast<size_t>(count));
        std::iota(st.valOrder.begin(), st.valOrder.end(), 0);
        std::shuffle(st.valOrder.begin(), st.valOrder.end(), st.valEngine);
        st.valNext = 0;
      }
      torch::Tensor index =
          torch::from_blob(st.valOrder.data() + st.valNext, {take}, torch::kInt64).clone().to(valX_.device());
      st.valNext += static_cast<size_t>(take);
      return index;
    };
    net->train();

    bool paused = false;
    for (int64_t epoch = st.epoch + 1; epoch <= options_.epochs; ++epoch) {
      if (epoch > options_.untilEpoch) {
        paused = true;
        break;
      }
      auto epochStart = std::chrono::steady_clock::now();
      std::iota(order.begin(), order.end(), 0);
      std::shuffle(order.begin(), order.end(), st.shuffleEngine);
      torch::Tensor permutation = torch::from_blob(order.data(), {n}, torch::kInt64).to(trainX_.device());
      torch::Tensor lossSum = torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat64).device(device));
      torch::Tensor correct = torch::zeros({}, torch::TensorOptions().dtype(torch::kInt64).device(device));
      int64_t seen = 0;
      double lr = options_.lr;
      for (int64_t batch = 0; batch < stepsPerEpoch; ++batch) {
        if (model_->stopRequested_.load()) {
          status_ = "stopped";
          break;
        }
        int64_t begin = batch * options_.batchSize, end = std::min(n, begin + options_.batchSize);
        torch::Tensor index = permutation.slice(0, begin, end);
        torch::Tensor x = trainX_.index_select(0, index).to(device);
        torch::Tensor y = trainY_.index_select(0, index).to(device);
        if (options_.cropPadding > 0 || options_.flip)
          x = Augment(x, trainBlack_.to(device), options_.cropPadding, options_.flip, st.augmentEngine);
        lr = learningRate(st.steps, epoch - 1);
        for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
        optimizer.zero_grad();
        torch::Tensor logits = net->forward(x);
        torch::Tensor loss = torch::nn::functional::cross_entropy(
            logits, y, torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(options_.labelSmoothing));
        loss.backward();
        optimizer.step();
        if (alphaOptimizer) {
          torch::Tensor index = nextValidationIndex();
          alphaOptimizer->zero_grad();
          torch::Tensor valLoss = torch::nn::functional::cross_entropy(
              net->forward(valX_.index_select(0, index).to(device)), valY_.index_select(0, index).to(device));
          valLoss.backward();
          alphaOptimizer->step();
        }
        ++st.steps;
        seen += end - begin;
        lossSum += loss.detach().to(torch::kFloat64) * static_cast<double>(end - begin);
        correct += logits.detach().argmax(1).eq(y).sum();
        if (options_.progressEvery > 0 && (batch + 1) % options_.progressEvery == 0) {
          double running = lossSum.item<double>() / static_cast<double>(seen);
          if (!std::isfinite(running)) break;
          auto* event = new ProgressEvent();
          event->epoch = epoch;
          event->batch = batch + 1;
          event->batches = stepsPerEpoch;
          event->loss = running;
          Post(event);
        }
      }
      st.images += seen;
      if (status_ == "stopped" && seen == 0) break;
      st.epoch = epoch;
      EpochRecord record;
      record.epoch = epoch;
      record.lr = lr;
      record.trainLoss = seen > 0 ? lossSum.item<double>() / static_cast<double>(seen) : NAN;
      record.trainAccuracy = seen > 0 ? static_cast<double>(correct.item<int64_t>()) / static_cast<double>(seen) : 0;
      if (!std::isfinite(record.trainLoss)) {
        status_ = "diverged";
        reason_ = "training loss became " + std::string(std::isnan(record.trainLoss) ? "NaN" : "infinite") +
                  " in epoch " + std::to_string(epoch) + " (learning rate " + std::to_string(lr) + ")";
        record.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - epochStart).count();
        st.epochs.push_back(record);
        break;
      }
      if (valX_.defined()) {
        EvalResult val = EvaluateOn(net, valX_, valY_, options_.evalBatchSize, device);
        record.valLoss = val.loss;
        record.valAccuracy = val.accuracy;
      }
      record.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - epochStart).count();
      st.epochs.push_back(record);

      bool stopEarly = false;
      if (valX_.defined()) {
        // Keras EarlyStopping semantics: an improvement is a drop of more than minDelta; after
        // `patience` epochs in a row without one (wait >= patience), training stops.
        if (record.valLoss < st.bestLoss - options_.minDelta) {
          st.bestLoss = record.valLoss;
          st.bestEpoch = epoch;
          st.sinceImprovement = 0;
          if (options_.restoreBest) {
            st.best.clear();
            for (const auto& item : net->named_parameters()) st.best.emplace_back(item.key(), item.value().detach().clone());
            for (const auto& item : net->named_buffers()) st.best.emplace_back(item.key(), item.value().detach().clone());
          }
        } else if (options_.patience >= 0 && ++st.sinceImprovement >= options_.patience) {
          stopEarly = true;
        }
      } else {
        st.bestEpoch = epoch;
      }
      auto* event = new ProgressEvent();
      event->epochEnd = true;
      event->record = record;
      Post(event);
      if (status_ == "stopped") break;
      if (stopEarly) {
        status_ = "early_stopped";
        break;
      }
    }
    if (paused && status_ == "completed") {
      status_ = "paused";
      st.cpuGenerator = GeneratorState(torch::kCPU);
      if (device.is_cuda()) st.deviceGenerator = GeneratorState(device);
    } else if (options_.restoreBest && !st.best.empty() && status_ != "diverged") {
      torch::NoGradGuard noGrad;
      std::map<std::string, torch::Tensor> current;
      for (const auto& item : net->named_parameters()) current[item.key()] = item.value();
      for (const auto& item : net->named_buffers()) current[item.key()] = item.value();
      for (auto& [name, tensor] : st.best) current[name].copy_(tensor);
    }
    st.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  } catch (const std::exception& error) {
    SetError(ErrorText(error));
  }
}

void TrainWorker::Finish() { model_->busy_ = false; }

// Settles the promise behind every progress event already posted: the ThreadSafeFunction's queue
// is FIFO, so a caller never sees an epoch event after the training's promise has settled.
void TrainWorker::Settle(Napi::Value value, bool ok) {
  if (!hasProgress_) {
    if (ok) deferred_.Resolve(value); else deferred_.Reject(value);
    return;
  }
  struct Pending {
    Napi::Promise::Deferred deferred;
    Napi::Reference<Napi::Value> value;
    bool ok;
  };
  auto pending = std::make_shared<Pending>(Pending{deferred_, Napi::Persistent(value), ok});
  napi_status status = progress_.NonBlockingCall([pending](Napi::Env, Napi::Function) {
    if (pending->ok) pending->deferred.Resolve(pending->value.Value());
    else pending->deferred.Reject(pending->value.Value());
    pending->value.Reset();
  });
  if (status != napi_ok) {
    if (ok) deferred_.Resolve(value); else deferred_.Reject(value);
  }
  progress_.Release();
}

void TrainWorker::OnOK() {
  Napi::Env env = Env();
  Finish();
  const TrainState& st = *state_;
  // A paused training stays with the model for `continue`; any other end releases its state.
  model_->training_ = status_ == "paused" ? state_ : nullptr;
  Napi::Object result = Napi::Object::New(env);
  Napi::Array epochs = Napi::Array::New(env, st.epochs.size());
  for (size_t i = 0; i < st.epochs.size(); ++i) epochs.Set(static_cast<uint32_t>(i), EpochToJs(env, st.epochs[i]));
  result.Set("epochs", epochs);
  result.Set("status", status_);
  if (!reason_.empty()) result.Set("reason", reason_);
  result.Set("bestEpoch", static_cast<double>(st.bestEpoch));
  result.Set("steps", static_cast<double>(st.steps));
  result.Set("images", static_cast<double>(st.images));
  result.Set("seconds", st.seconds);
  result.Set("threads", static_cast<double>(threads_));
  const torch::Tensor& alpha = model_->net_->alpha;
  if (alpha.defined()) {
    torch::Tensor values = alpha.detach().to(torch::kCPU).to(torch::kFloat64).contiguous();
    Napi::Array out = Napi::Array::New(env, static_cast<size_t>(values.numel()));
    for (int64_t i = 0; i < values.numel(); ++i) out.Set(static_cast<uint32_t>(i), values.data_ptr<double>()[i]);
    result.Set("alpha", out);
  }
  Settle(result, true);
}

void TrainWorker::OnError(const Napi::Error& error) {
  Finish();
  model_->training_ = nullptr;
  Settle(Napi::Error::New(Env(), "training failed: " + error.Message()).Value(), false);
}

// --- evaluation and prediction ---

class EvalWorker : public Napi::AsyncWorker {
 public:
  EvalWorker(Napi::Env env, Model* model, Napi::Object modelRef, Dataset* data, Napi::Object dataRef,
             int64_t batchSize, int64_t threads, bool predict)
      : Napi::AsyncWorker(env, "nascent.evaluate"),
        model_(model),
        modelRef_(Napi::Persistent(modelRef)),
        dataRef_(Napi::Persistent(dataRef)),
        x_(data->images_),
        y_(data->labels_),
        batchSize_(batchSize),
        threads_(threads),
        predict_(predict),
        deferred_(Napi::Promise::Deferred::New(env)) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      ThreadLease lease(threads_);
      if (!predict_) {
        result_ = EvaluateOn(model_->net_, x_, y_, batchSize_, model_->device_);
        return;
      }
      torch::NoGradGuard noGrad;
      bool wasTraining = model_->net_->is_training();
      model_->net_->eval();
      std::vector<torch::Tensor> parts;
      for (int64_t start = 0; start < x_.size(0); start += batchSize_) {
        int64_t end = std::min(x_.size(0), start + batchSize_);
        parts.push_back(model_->net_->forward(x_.slice(0, start, end).to(model_->device_)).to(torch::kCPU, torch::kFloat32));
      }
      if (wasTraining) model_->net_->train();
      logits_ = parts.empty() ? torch::zeros({0}) : torch::cat(parts, 0).contiguous();
    } catch (const std::exception& error) {
      SetError(ErrorText(error));
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    model_->busy_ = false;
    if (predict_) {
      Napi::Float32Array data = Napi::Float32Array::New(env, static_cast<size_t>(logits_.numel()));
      if (logits_.numel() > 0) std::memcpy(data.Data(), logits_.data_ptr<float>(), sizeof(float) * data.ElementLength());
      Napi::Object out = Napi::Object::New(env);
      out.Set("logits", data);
      out.Set("count", static_cast<double>(x_.size(0)));
      out.Set("classes", static_cast<double>(logits_.dim() == 2 ? logits_.size(1) : 0));
      deferred_.Resolve(out);
      return;
    }
    Napi::Object out = Napi::Object::New(env);
    out.Set("loss", result_.loss);
    out.Set("accuracy", result_.accuracy);
    out.Set("count", static_cast<double>(result_.count));
    deferred_.Resolve(out);
  }

  void OnError(const Napi::Error& error) override {
    model_->busy_ = false;
    deferred_.Reject(Napi::Error::New(Env(), std::string(predict_ ? "predict" : "evaluate") + " failed: " +
                                                 error.Message())
                         .Value());
  }

 private:
  Model* model_;
  Napi::ObjectReference modelRef_, dataRef_;
  torch::Tensor x_, y_, logits_;
  int64_t batchSize_, threads_;
  bool predict_;
  Napi::Promise::Deferred deferred_;
  EvalResult result_;
};

Napi::Value StartEval(Model* model, const Napi::CallbackInfo& info, bool predict) {
  Napi::Env env = info.Env();
  if (model->busy_.load()) throw Napi::Error::New(env, "the model is busy with another training or evaluation");
  Dataset* data = UnwrapDataset(info[0], "dataset");
  int64_t batchSize = 1024, threads = 0;
  if (info.Length() > 1 && info[1].IsObject()) {
    Napi::Object options = info[1].As<Napi::Object>();
    batchSize = static_cast<int64_t>(GetDouble(options, "batchSize", 1024));
    threads = static_cast<int64_t>(GetDouble(options, "threads", 0));
  }
  model->busy_ = true;
  auto* worker = new EvalWorker(env, model, model->Value(), data, info[0].As<Napi::Object>(), std::max<int64_t>(1, batchSize),
                                threads, predict);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Value Model::Evaluate(const Napi::CallbackInfo& info) { return StartEval(this, info, false); }
Napi::Value Model::Predict(const Napi::CallbackInfo& info) { return StartEval(this, info, true); }

// ---------------------------------------------------------------------------------------------
// Training-free proxies: scores of an untrained network on one mini-batch. Each proxy starts from
// the model's state as it was when asked (its initialisation) and the state is put back after
// each one, so proxies never see each other's changes (synflow takes absolute values).

struct ProxyScore {
  std::string name;
  double value = std::numeric_limits<double>::quiet_NaN();
  std::string failure;
  double seconds = 0;
};

// The weights the gradient-based proxies sum over: those of convolutions and dense layers.
std::vector<torch::Tensor> ScoredWeights(GraphNet& net) {
  std::vector<torch::Tensor> weights;
  for (const auto& p : net->parameters()) {
    if (p.dim() >= 2) weights.push_back(p);
  }
  return weights;
}

void ClearGradients(GraphNet& net) {
  for (auto& p : net->parameters()) p.mutable_grad() = torch::Tensor();
}

// The gradients of the batch's cross-entropy, the batch split in two halves (each half's from
// zeroed gradients, the same weights): ZiCo reads the two apart; grad_norm and snip read their sum,
// what accumulating the halves' gradients gives (zero-cost-nas with split_data = 2). One entry per
// scored weight: {first half, second half}.
std::vector<std::array<torch::Tensor, 2>> HalfBatchGradients(GraphNet& net, const torch::Tensor& x,
                                                             const torch::Tensor& y) {
  net->train();
  const int64_t n = x.size(0);
  std::vector<torch::Tensor> weights = ScoredWeights(net);
  std::vector<std::array<torch::Tensor, 2>> gradients(weights.size());
  for (int64_t s = 0; s < 2; ++s) {
    ClearGradients(net);
    const int64_t from = s * n / 2, to = (s + 1) * n / 2;
    torch::nn::functional::cross_entropy(net->forward(x.slice(0, from, to)), y.slice(0, from, to)).backward();
    torch::NoGradGuard noGrad;
    for (size_t j = 0; j < weights.size(); ++j) {
      const torch::Tensor& g = weights[j].grad();
      gradients[j][static_cast<size_t>(s)] = g.defined() ? g.detach().clone() : torch::zeros_like(weights[j]);
    }
  }
  ClearGradients(net);
  return gradients;
}

// grad_norm: the sum over scored weights of the L2 norm of the (accumulated) gradient; snip: the
// sum of |g * w|.
std::pair<double, double> GradNormAndSnip(GraphNet& net, const std::vector<std::array<torch::Tensor, 2>>& gradients) {
  torch::NoGradGuard noGrad;
  std::vector<torch::Tensor> weights = ScoredWeights(net);
  double gradNorm = 0, snip = 0;
  for (size_t j = 0; j < weights.size(); ++j) {
    torch::Tensor g = gradients[j][0] + gradients[j][1];
    gradNorm += g.norm().item<double>();
    snip += (g * weights[j]).abs().sum().item<double>();
  }
  return {gradNorm, snip};
}

// Tanaka et al. 2020: all weights made positive, in double precision, an all-ones input, and the
// sum over weights of |w * dR/dw| for R the sum of the outputs. Batch norm in eval mode.
double Synflow(GraphNet& net, const torch::Tensor& x) {
  {
    torch::NoGradGuard noGrad;
    for (auto& p : net->parameters()) p.set_data(p.detach().to(torch::kFloat64).abs());
    for (auto& b : net->buffers()) {
      if (b.is_floating_point()) b.set_data(b.detach().to(torch::kFloat64));
    }
  }
  net->eval();
  ClearGradients(net);
  std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end());
  shape[0] = 1;
  torch::Tensor ones = torch::ones(shape, torch::TensorOptions().dtype(torch::kFloat64).device(x.device()));
  net->forward(ones).sum().backward();
  torch::NoGradGuard noGrad;
  double total = 0;
  for (const auto& w : ScoredWeights(net)) {
    if (w.grad().defined()) total += (w.grad() * w).abs().sum().item<double>();
  }
  return total;
}

// Mellor et al. 2020 (v1): the correlation of the input Jacobians of a batch (the gradient of the
// summed outputs with respect to each image); eigenvalues v, score -sum(log(v + k) + 1 / (v + k)),
// k = 1e-5. Reads the shared forward pass (its input requires gradients).
double JacobCov(const torch::Tensor& input, const torch::Tensor& output) {
  torch::Tensor grad =
      torch::autograd::grad({output}, {input}, {torch::ones_like(output)}, /*retain_graph=*/true)[0];
  torch::NoGradGuard noGrad;
  torch::Tensor jacobians = grad.reshape({input.size(0), -1}).to(torch::kFloat64);
  torch::Tensor centred = jacobians - jacobians.mean(1, true);
  torch::Tensor norms = centred.norm(2, 1, true);
  if (norms.min().item<double>() == 0) throw std::runtime_error("an input Jacobian is constant, so correlations are undefined");
  torch::Tensor unit = centred / norms;
  torch::Tensor eigenvalues = torch::linalg_eigvalsh(unit.mm(unit.t()), "L");
  const double k = 1e-5;
  return -(torch::log(eigenvalues + k) + 1.0 / (eigenvalues + k)).sum().item<double>();
}

// Unhooks a network's forward() from every recording it was pointed at (activation codes, conv
// outputs, block outputs, weight uses) when it goes out of scope, a throw included.
struct ForwardRecording {
  GraphNet& net;
  ~ForwardRecording() {
    net->activationCodes = nullptr;
    net->convOutputs = nullptr;
    net->blockOutputs = nullptr;
    net->weightUses = nullptr;
  }
};

// One forward pass in train mode, shared by NASWOT, SWAP, MeCo, AZ-NAS and jacob_cov: each
// activation's binary input pattern (x > 0, one row per sample), each convolution's output, and the
// outputs of the plan's blocks. With `keepGraph` the pass records the autograd graph, the input
// requiring gradients (jacob_cov, AZ-NAS's trainability); without it, no graph.
struct ForwardFeatures {
  std::vector<torch::Tensor> codes, convOutputs, blocks;
  torch::Tensor input, output;
};

ForwardFeatures RecordForwardFeatures(GraphNet& net, const torch::Tensor& x, bool keepGraph) {
  net->train();
  std::optional<torch::NoGradGuard> noGrad;
  if (!keepGraph) noGrad.emplace();
  ForwardFeatures features;
  features.input = keepGraph ? x.detach().clone().requires_grad_(true) : x;
  ForwardRecording unhook{net};
  net->activationCodes = &features.codes;
  net->convOutputs = &features.convOutputs;
  net->blockOutputs = &features.blocks;
  features.output = net->forward(features.input);
  return features;
}

// Mellor et al. 2021 (NASWOT): binary codes of which activation inputs are positive; kernel
// K = c c' + (1 - c)(1 - c)' = 2 c c' - r 1' - 1 r' + F (r: each sample's count of ones, F: the
// code length), one matrix product per activation, in float32 (exact: integer counts < 2^24).
double Naswot(const ForwardFeatures& features) {
  if (features.codes.empty()) throw std::runtime_error("the network has no activations, so no activation patterns");
  const int64_t n = features.codes[0].size(0);
  torch::Tensor products = torch::zeros({n, n}, torch::kFloat64), ones = torch::zeros({n}, torch::kFloat64);
  double length = 0;
  for (const torch::Tensor& code : features.codes) {
    torch::Tensor c = code.to(torch::kFloat32);
    products += c.mm(c.t()).to(torch::kFloat64).cpu();
    ones += c.sum(1).to(torch::kFloat64).cpu();
    length += static_cast<double>(code.size(1));
  }
  torch::Tensor kernel = 2 * products - ones.unsqueeze(1) - ones.unsqueeze(0) + length;
  auto [sign, logAbsDet] = torch::slogdet(kernel);
  if (sign.item<double>() <= 0) {
    throw std::runtime_error("the activation-pattern kernel is singular (samples share an activation pattern)");
  }
  return logAbsDet.item<double>();
}

// Peng et al. 2024 (SWAP): sample-wise activation patterns. Each neuron (an activation input
// position) has a pattern over the batch, which samples make it positive; the score is the number
// of distinct patterns over all the network's activations. Patterns are packed 64 samples to a
// 64-bit word (sample s is bit s % 64 of word s / 64), so distinct patterns are distinct rows of
// words.
double Swap(const ForwardFeatures& features) {
  if (features.codes.empty()) throw std::runtime_error("the network has no activations, so no activation patterns");
  const int64_t n = features.codes[0].size(0);
  const int64_t wordsPerNeuron = (n + 63) / 64;
  int64_t neurons = 0;
  for (const torch::Tensor& code : features.codes) neurons += code.size(1);
  std::vector<uint64_t> words(static_cast<size_t>(neurons * wordsPerNeuron), 0);
  int64_t first = 0;
  for (const torch::Tensor& layer : features.codes) {
    torch::Tensor code = layer.to(torch::kCPU, torch::kBool).contiguous();
    const int64_t width = code.size(1);
    const bool* data = code.data_ptr<bool>();
    for (int64_t s = 0; s < n; ++s) {
      const bool* row = data + s * width;
      const uint64_t bit = uint64_t{1} << (s % 64);
      uint64_t* out = words.data() + first * wordsPerNeuron + s / 64;
      for (int64_t j = 0; j < width; ++j) {
        if (row[j]) out[j * wordsPerNeuron] |= bit;
      }
    }
    first += width;
  }
  if (wordsPerNeuron == 1) {
    std::sort(words.begin(), words.end());
    return static_cast<double>(std::unique(words.begin(), words.end()) - words.begin());
  }
  torch::Tensor patterns = torch::from_blob(words.data(), {neurons, wordsPerNeuron}, torch::kInt64);
  return static_cast<double>(std::get<0>(torch::unique_dim(patterns, 0, /*sorted=*/false)).size(0));
}

// Jiang et al. 2023 (MeCo): for each convolution, the Pearson correlation matrix of the channels
// of the first image's feature map (channels x positions; undefined correlations, from constant
// channels, set to 0), and its smallest eigenvalue; the score is their sum.
double Meco(const ForwardFeatures& features) {
  if (features.convOutputs.empty()) throw std::runtime_error("the network has no convolutions, so no feature maps");
  torch::NoGradGuard noGrad;
  double total = 0;
  for (const torch::Tensor& map : features.convOutputs) {
    torch::Tensor channels = map[0].reshape({map.size(1), -1}).to(torch::kFloat64);
    // One position: every correlation is undefined, so the matrix is all zeros (smallest
    // eigenvalue 0); skipped, which also keeps torch's warning about it off the terminal.
    if (channels.size(1) < 2) continue;
    torch::Tensor correlation = torch::corrcoef(channels);
    correlation = torch::where(torch::isfinite(correlation), correlation, torch::zeros_like(correlation));
    total += torch::linalg_eigvalsh(correlation, "L")[0].item<double>();
  }
  return total;
}

// Li et al. 2023 (ZiCo): from the two halves' gradients, per conv/dense layer, the sum over its
// weights (with a non-zero deviation) of mean(|g|) / std(g) over the halves, population std; the
// score is the sum of the layers' logs.
double Zico(const std::vector<std::array<torch::Tensor, 2>>& gradients) {
  torch::NoGradGuard noGrad;
  double total = 0;
  for (const auto& layer : gradients) {
    torch::Tensor g = torch::stack({layer[0].reshape({-1}).to(torch::kFloat64), layer[1].reshape({-1}).to(torch::kFloat64)});
    torch::Tensor deviation = g.std(0, /*unbiased=*/false);
    torch::Tensor meanAbs = g.abs().mean(0);
    torch::Tensor nonZero = deviation != 0;
    const double sum = (meanAbs.masked_select(nonZero) / deviation.masked_select(nonZero)).sum().item<double>();
    if (sum > 0) total += std::log(sum);
  }
  return total;
}

// Lee & Ham 2024 (AZ-NAS), from the outputs of the network's blocks (the plan's `blocks`):
// - expressivity: per block, the features as (images x positions) rows of channels, centred; the
//   eigenvalues s of their covariance, p = s / sum(s), entropy -sum(p log(p + 1e-8)); summed over
//   blocks (in double precision);
// - progressivity: the smallest increase of that entropy from a block to the next;
// - trainability: for each block after the first, from the last back, a random +-1 gradient g_out
//   at its output and g_in = d(output)/d(previous block's output)^T g_out (pixel-unshuffled to the
//   output's size when the block downsamples, cut to a multiple of it); the largest singular value s of g_in^T g_out / N, and
//   -s - 1 / (s + 1e-6) + 2; the mean over blocks. A block that is the identity of the previous one
//   scores -inf there, as in the paper's code. The signs come from a splitmix64 hash of (seed,
//   block, element), so an independent reference can draw the same ones.
// - complexity (FLOPs) is counted from the IR, not here.
torch::Tensor RademacherSigns(at::IntArrayRef sizes, uint64_t seed, uint64_t stream) {
  int64_t count = 1;
  for (int64_t size : sizes) count *= size;
  torch::Tensor signs = torch::empty(sizes, torch::kFloat32);
  float* out = signs.data_ptr<float>();
  const uint64_t base = seed * 0x9E3779B97F4A7C15ULL + stream * 0xD1B54A32D192ED03ULL;
  for (int64_t i = 0; i < count; ++i) {
    uint64_t z = base + static_cast<uint64_t>(i);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    out[i] = (z >> 63) != 0 ? 1.0f : -1.0f;
  }
  return signs;
}

// Channels as columns: [N, C, H, W] -> [N*H*W, C]; [N, F] stays.
torch::Tensor ChannelRows(const torch::Tensor& map) {
  return map.dim() == 4 ? map.permute({0, 2, 3, 1}).reshape({-1, map.size(1)}) : map.reshape({map.size(0), -1});
}

double BlockEntropy(const torch::Tensor& block, size_t index) {
  torch::NoGradGuard noGrad;
  torch::Tensor rows = ChannelRows(block.detach().to(torch::kFloat64));
  rows = rows - rows.mean(0, true);
  torch::Tensor covariance = rows.t().mm(rows) / static_cast<double>(rows.size(0));
  torch::Tensor eigenvalues = torch::linalg_eigvalsh(covariance, "L");
  const double total = eigenvalues.sum().item<double>();
  if (!(total > 0)) {
    throw std::runtime_error("block " + std::to_string(index + 1) + "'s features are constant, so their spectrum is undefined");
  }
  torch::Tensor p = eigenvalues / total;
  return (-p * torch::log(p + 1e-8)).sum().item<double>();
}

double AzTrainability(const std::vector<torch::Tensor>& blocks, uint64_t seed) {
  double total = 0;
  for (size_t i = blocks.size() - 1; i >= 1; --i) {
    const torch::Tensor& out = blocks[i];
    const torch::Tensor& in = blocks[i - 1];
    if (out.is_same(in)) return -std::numeric_limits<double>::infinity();
    torch::Tensor gOut = RademacherSigns(out.sizes(), seed, i).to(out.device());
    torch::Tensor gIn = torch::autograd::grad({out}, {in}, {gOut}, /*retain_graph=*/true, /*create_graph=*/false,
                                              /*allow_unused=*/true)[0];
    if (!gIn.defined()) {
      throw std::runtime_error("block " + std::to_string(i + 1) + " does not depend on block " + std::to_string(i));
    }
    torch::NoGradGuard noGrad;
    if (gIn.sizes() == gOut.sizes() && torch::equal(gIn, gOut)) return -std::numeric_limits<double>::infinity();
    if (gOut.dim() == 4 && (gIn.size(2) != gOut.size(2) || gIn.size(3) != gOut.size(3))) {
      // A downsampling block: s x s input positions to each output position. Where the size does
      // not divide (valid padding), the rows and columns past s times the output's are cut off.
      const int64_t stride = gIn.size(2) / gOut.size(2);
      if (stride < 1 || gIn.size(3) / gOut.size(3) != stride) {
        throw std::runtime_error("block " + std::to_string(i + 1) + " does not shrink its input's height and width by one factor");
      }
      gIn = torch::pixel_unshuffle(gIn.slice(2, 0, stride * gOut.size(2)).slice(3, 0, stride * gOut.size(3)), stride);
    }
    torch::Tensor rowsIn = ChannelRows(gIn.to(torch::kFloat64)), rowsOut = ChannelRows(gOut.to(torch::kFloat64));
    torch::Tensor product = rowsIn.t().mm(rowsOut) / static_cast<double>(rowsOut.size(0));
    const double s = torch::linalg_svdvals(product).max().item<double>();
    total += -s - 1.0 / (s + 1e-6) + 2.0;
  }
  return total / static_cast<double>(blocks.size() - 1);
}

// The per-sample gradients of one weight, one row per sample ([N, weight.numel()], in the weight's
// layout), from what the weight multiplies and the gradient at the step's output, with the batch's
// samples independent (batch norm's statistics held constant):
// - a convolution: the padded input unfolded into its receptive fields ([N, g, Ci/g k k, L]) times
//   the output gradient ([N, g, Co/g, L]), summed over the L output positions;
// - a dense layer: the outer product of the output gradient and the input;
// - batch norm: the output gradient times the normalised input, summed over positions.
torch::Tensor PerSampleWeightGradients(const Step& step, const torch::Tensor& multiplied, const torch::Tensor& delta) {
  const int64_t n = delta.size(0);
  if (step.conv) {
    const auto& o = step.conv->options;
    // The module pads symmetric convolutions itself; the others' inputs come padded.
    const torch::ExpandingArray<2> padding =
        step.symmetric ? torch::ExpandingArray<2>({step.pads[0], step.pads[2]}) : torch::ExpandingArray<2>({0, 0});
    const int64_t groups = o.groups();
    torch::Tensor fields = torch::nn::functional::unfold(
        multiplied, torch::nn::functional::UnfoldFuncOptions(o.kernel_size()).dilation(o.dilation()).padding(padding).stride(o.stride()));
    const int64_t positions = fields.size(2);
    fields = fields.reshape({n * groups, -1, positions});
    torch::Tensor d = delta.reshape({n * groups, -1, positions});
    return torch::bmm(d, fields.transpose(1, 2)).reshape({n, -1});
  }
  if (step.dense) return (delta.unsqueeze(2) * multiplied.unsqueeze(1)).reshape({n, -1});
  torch::Tensor product = delta * multiplied;
  return product.dim() == 4 ? product.sum({2, 3}) : product;
}

// Chen et al. 2021 (TE-NAS): the condition number of the empirical NTK, the Gram matrix of the
// per-sample gradients of the summed logits with respect to the weights (as TE-NAS: conv, dense
// and batch-norm weights, no biases). Batch norm's batch statistics are held constant (computed
// from the batch, not differentiated), which makes the samples independent: one forward and one
// backward pass give every sample's gradient (PerSampleWeightGradients), where TE-NAS's coupled
// batch norm needs a backward pass per sample. The Gram matrix is summed layer by layer in double
// precision.
double NtkCondition(GraphNet& net, const torch::Tensor& x) {
  net->train();
  ClearGradients(net);
  std::vector<GraphNetImpl::WeightUse> uses;
  torch::Tensor out;
  {
    ForwardRecording unhook{net};
    net->weightUses = &uses;
    out = net->forward(x);
  }
  if (uses.empty()) throw std::runtime_error("the network has no weights, so no tangent kernel");
  std::vector<torch::Tensor> outputs;
  for (const auto& use : uses) outputs.push_back(use.output);
  std::vector<torch::Tensor> deltas = torch::autograd::grad({out}, outputs, {torch::ones_like(out)}, /*retain_graph=*/false,
                                                            /*create_graph=*/false, /*allow_unused=*/true);
  torch::NoGradGuard noGrad;
  const int64_t n = x.size(0);
  torch::Tensor kernel = torch::zeros({n, n}, torch::TensorOptions().dtype(torch::kFloat64).device(x.device()));
  for (size_t k = 0; k < uses.size(); ++k) {
    if (!deltas[k].defined()) continue;  // a weight the logits do not depend on: zero gradients
    torch::Tensor rows = PerSampleWeightGradients(net->steps[uses[k].step], uses[k].multiplied.detach(), deltas[k]).to(torch::kFloat64);
    kernel += rows.mm(rows.t());
  }
  torch::Tensor eigenvalues = torch::linalg_eigvalsh(kernel, "L");
  double smallest = eigenvalues[0].item<double>(), largest = eigenvalues[-1].item<double>();
  if (!(smallest > 0)) {
    throw std::runtime_error("the NTK is singular (smallest eigenvalue " + std::to_string(smallest) + ")");
  }
  return largest / smallest;
}

class ProxyWorker : public Napi::AsyncWorker {
 public:
  ProxyWorker(Napi::Env env, Model* model, Napi::Object modelRef, Dataset* data, Napi::Object dataRef,
              std::vector<std::string> names, int64_t batchSize, int64_t ntkBatchSize, uint64_t seed, int64_t threads)
      : Napi::AsyncWorker(env, "nascent.proxies"),
        model_(model),
        modelRef_(Napi::Persistent(modelRef)),
        dataRef_(Napi::Persistent(dataRef)),
        images_(data->images_),
        labels_(data->labels_),
        names_(std::move(names)),
        batchSize_(batchSize),
        ntkBatchSize_(ntkBatchSize),
        seed_(seed),
        threads_(threads),
        deferred_(Napi::Promise::Deferred::New(env)) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override;

  void OnOK() override;

  void OnError(const Napi::Error& error) override;

 private:
  Model* model_;
  Napi::ObjectReference modelRef_, dataRef_;
  torch::Tensor images_, labels_;
  std::vector<std::string> names_;
  int64_t batchSize_, ntkBatchSize_;
  uint64_t seed_;
  int64_t threads_;
  Napi::Promise::Deferred deferred_;
  std::vector<ProxyScore> scores_;
  int64_t used_ = 0;
  std::vector<int64_t> batchOrder_;
};

void ProxyWorker::Execute() {
  try {
    ThreadLease lease(threads_);
    GraphNet& net = model_->net_;
    const torch::Device device = model_->device_;
    std::vector<torch::Tensor> params = net->parameters(), buffers = net->buffers();
    std::vector<torch::Tensor> savedParams, savedBuffers;
    {
      torch::NoGradGuard noGrad;
      for (const auto& p : params) savedParams.push_back(p.detach().clone());
      for (const auto& b : buffers) savedBuffers.push_back(b.detach().clone());
    }
    const bool wasTraining = net->is_training();
    auto restore = [&]() {
      torch::NoGradGuard noGrad;
      ClearGradients(net);
      for (size_t i = 0; i < params.size(); ++i) params[i].set_data(savedParams[i].clone());
      for (size_t i = 0; i < buffers.size(); ++i) buffers[i].set_data(savedBuffers[i].clone());
      net->train(wasTraining);
    };

    // A seeded sample of the data, without replacement.
    const int64_t count = images_.size(0);
    used_ = std::min(batchSize_, count);
    if (used_ < 2) throw std::runtime_error("proxies need at least 2 images");
    std::vector<int64_t> order(static_cast<size_t>(count));
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 engine(seed_);
    std::shuffle(order.begin(), order.end(), engine);
    batchOrder_.assign(order.begin(), order.begin() + used_);
    torch::Tensor index = torch::tensor(batchOrder_);
    torch::Tensor x = images_.index_select(0, index.to(images_.device())).to(device);
    torch::Tensor y = labels_.index_select(0, index.to(labels_.device())).to(device);
    const int64_t ntkCount = std::max<int64_t>(2, std::min(ntkBatchSize_, used_));

    // Proxies that share a pass are computed together when the first of them is asked for; that
    // one's seconds include the shared pass, each one's own work is its own.
    static const std::vector<std::string> kAzNas = {"az_expressivity", "az_progressivity", "az_trainability"};
    static const std::vector<std::string> kForwardGroup = [] {
      std::vector<std::string> group = {"naswot", "swap", "meco", "jacob_cov"};
      group.insert(group.end(), kAzNas.begin(), kAzNas.end());
      return group;
    }();
    static const std::vector<std::string> kGradientGroup = {"grad_norm", "snip", "zico"};
    auto asked = [&](const std::string& name) { return std::find(names_.begin(), names_.end(), name) != names_.end(); };
    auto inGroup = [](const std::vector<std::string>& group, const std::string& name) {
      return std::find(group.begin(), group.end(), name) != group.end();
    };
    using Clock = std::chrono::steady_clock;
    auto since = [](Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); };
    std::map<std::string, ProxyScore> done;
    // Scores `member` with `compute` into `done`, catching its failure.
    auto scoreMember = [&](const std::string& member, const std::function<double()>& compute) {
      ProxyScore score;
      score.name = member;
      const auto start = Clock::now();
      try {
        score.value = compute();
        if (!std::isfinite(score.value)) score.failure = "the score is not finite (" + std::to_string(score.value) + ")";
      } catch (const std::exception& error) {
        score.failure = ErrorText(error);
      }
      score.seconds = since(start);
      done[member] = score;
    };
    auto fail = [&](const std::string& member, const std::string& failure) {
      ProxyScore score;
      score.name = member;
      score.failure = failure;
      done[member] = score;
    };
    auto failGroup = [&](const std::vector<std::string>& group, const std::string& failure) {
      for (const std::string& member : group) {
        if (asked(member) && done.count(member) == 0) fail(member, failure);
      }
    };

    for (const std::string& name : names_) {
      if (done.count(name) > 0) {
        scores_.push_back(done[name]);
        continue;
      }
      {
        std::lock_guard<std::mutex> lock(gInitMutex);
        torch::manual_seed(seed_);  // dropout masks
      }
      const auto start = Clock::now();
      if (inGroup(kForwardGroup, name)) {
        try {
          const bool keepGraph = asked("jacob_cov") || asked("az_trainability");
          ForwardFeatures features = RecordForwardFeatures(net, x, keepGraph);
          const double shared = since(start);
          if (asked("naswot")) scoreMember("naswot", [&]() { return Naswot(features); });
          if (asked("swap")) scoreMember("swap", [&]() { return Swap(features); });
          if (asked("meco")) scoreMember("meco", [&]() { return Meco(features); });
          const bool az = std::any_of(kAzNas.begin(), kAzNas.end(), asked);
          if (az && features.blocks.size() < 2) {
            failGroup(kAzNas, "AZ-NAS needs at least 2 blocks, the network has " + std::to_string(features.blocks.size()));
          } else if (az) {
            std::vector<double> entropies;
            std::string entropyFailure;
            const auto entropyStart = Clock::now();
            try {
              for (size_t b = 0; b < features.blocks.size(); ++b) entropies.push_back(BlockEntropy(features.blocks[b], b));
            } catch (const std::exception& error) {
              entropyFailure = ErrorText(error);
            }
            const double entropySeconds = since(entropyStart);
            auto fromEntropies = [&](bool sum) {
              if (!entropyFailure.empty()) throw std::runtime_error(entropyFailure);
              if (sum) return std::accumulate(entropies.begin(), entropies.end(), 0.0);
              double smallest = std::numeric_limits<double>::infinity();
              for (size_t b = 1; b < entropies.size(); ++b) smallest = std::min(smallest, entropies[b] - entropies[b - 1]);
              return smallest;
            };
            if (asked("az_expressivity")) {
              scoreMember("az_expressivity", [&]() { return fromEntropies(true); });
              done["az_expressivity"].seconds += entropySeconds;
            }
            if (asked("az_progressivity")) scoreMember("az_progressivity", [&]() { return fromEntropies(false); });
            if (asked("az_trainability")) {
              scoreMember("az_trainability", [&]() {
                const double value = AzTrainability(features.blocks, seed_);
                if (std::isinf(value)) throw std::runtime_error("a block is the identity of the block before it (AZ-NAS scores it -inf)");
                return value;
              });
            }
          }
          if (asked("jacob_cov")) scoreMember("jacob_cov", [&]() { return JacobCov(features.input, features.output); });
          done[name].seconds += shared;
        } catch (const std::exception& error) {
          failGroup(kForwardGroup, ErrorText(error));
        }
      } else if (inGroup(kGradientGroup, name)) {
        try {
          std::vector<std::array<torch::Tensor, 2>> gradients = HalfBatchGradients(net, x, y);
          const double shared = since(start);
          std::optional<std::pair<double, double>> normAndSnip;
          auto gradNormAndSnip = [&]() -> const std::pair<double, double>& {
            if (!normAndSnip) normAndSnip = GradNormAndSnip(net, gradients);
            return *normAndSnip;
          };
          if (asked("grad_norm")) scoreMember("grad_norm", [&]() { return gradNormAndSnip().first; });
          if (asked("snip")) scoreMember("snip", [&]() { return gradNormAndSnip().second; });
          if (asked("zico")) scoreMember("zico", [&]() { return Zico(gradients); });
          done[name].seconds += shared;
        } catch (const std::exception& error) {
          failGroup(kGradientGroup, ErrorText(error));
        }
      } else if (name == "synflow") {
        scoreMember(name, [&]() { return Synflow(net, x); });
      } else if (name == "ntk_cond") {
        scoreMember(name, [&]() { return NtkCondition(net, x.slice(0, 0, ntkCount)); });
      } else {
        fail(name, "unknown proxy '" + name + "'");
      }
      restore();
      scores_.push_back(done[name]);
    }
  } catch (const std::exception& error) {
    SetError(ErrorText(error));
  }
}

void ProxyWorker::OnOK() {
  Napi::Env env = Env();
  model_->busy_ = false;
  Napi::Object out = Napi::Object::New(env);
  Napi::Object scores = Napi::Object::New(env);
  for (const ProxyScore& score : scores_) {
    Napi::Object entry = Napi::Object::New(env);
    entry.Set("value", score.failure.empty() ? Napi::Number::New(env, score.value) : env.Null());
    entry.Set("seconds", score.seconds);
    if (!score.failure.empty()) entry.Set("failure", score.failure);
    scores.Set(score.name, entry);
  }
  out.Set("scores", scores);
  out.Set("batchSize", static_cast<double>(used_));
  Napi::Array batchOrder = Napi::Array::New(env, batchOrder_.size());
  for (size_t i = 0; i < batchOrder_.size(); ++i) batchOrder.Set(static_cast<uint32_t>(i), static_cast<double>(batchOrder_[i]));
  out.Set("batchOrder", batchOrder);
  deferred_.Resolve(out);
}

void ProxyWorker::OnError(const Napi::Error& error) {
  model_->busy_ = false;
  deferred_.Reject(Napi::Error::New(Env(), "proxies failed: " + error.Message()).Value());
}

// model.proxies(data, { names, batchSize, ntkBatchSize, seed, threads })
Napi::Value Model::Proxies(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureIdle(env);
  Dataset* data = UnwrapDataset(info[0], "dataset");
  if (info.Length() < 2 || !info[1].IsObject()) throw Napi::TypeError::New(env, "proxies: options must be an object");
  Napi::Object options = info[1].As<Napi::Object>();
  if (!options.Get("names").IsArray()) throw Napi::TypeError::New(env, "proxies: options.names must be an array");
  Napi::Array list = options.Get("names").As<Napi::Array>();
  std::vector<std::string> names;
  for (uint32_t i = 0; i < list.Length(); ++i) names.push_back(list.Get(i).As<Napi::String>().Utf8Value());
  busy_ = true;
  auto* worker = new ProxyWorker(env, this, Value(), data, info[0].As<Napi::Object>(), std::move(names),
                                 static_cast<int64_t>(GetDouble(options, "batchSize", 64)),
                                 static_cast<int64_t>(GetDouble(options, "ntkBatchSize", 32)),
                                 static_cast<uint64_t>(GetDouble(options, "seed", 0)),
                                 static_cast<int64_t>(GetDouble(options, "threads", 0)));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

// ---------------------------------------------------------------------------------------------
// Regressor: the accuracy predictor's models. An LSTM over per-layer vectors (the last valid
// step's hidden state feeds a linear head), or an MLP over a fixed-length vector. MSE loss, Adam.

struct RegressorNetImpl : torch::nn::Module {
  bool sequence = false;
  torch::nn::LSTM lstm{nullptr};
  torch::nn::Sequential mlp{nullptr};
  torch::nn::Linear head{nullptr};

  RegressorNetImpl(bool isSequence, int64_t inputSize, int64_t hidden, int64_t layers) : sequence(isSequence) {
    if (sequence) {
      lstm = register_module(
          "lstm", torch::nn::LSTM(torch::nn::LSTMOptions(inputSize, hidden).num_layers(layers).batch_first(true)));
    } else {
      mlp = torch::nn::Sequential();
      int64_t width = inputSize;
      for (int64_t i = 0; i < layers; ++i) {
        mlp->push_back(torch::nn::Linear(width, hidden));
        mlp->push_back(torch::nn::ReLU());
        width = hidden;
      }
      mlp = register_module("mlp", mlp);
    }
    head = register_module("head", torch::nn::Linear(hidden, 1));
  }

  // x: [N, T, F] with lengths [N] (sequence), or [N, F].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& lengths) {
    if (!sequence) return head->forward(mlp->forward(x)).squeeze(1);
    torch::Tensor out = std::get<0>(lstm->forward(x));
    torch::Tensor index = (lengths - 1).view({-1, 1, 1}).expand({out.size(0), 1, out.size(2)});
    return head->forward(out.gather(1, index).squeeze(1)).squeeze(1);
  }
};
TORCH_MODULE(RegressorNet);

struct RegressorInput {
  torch::Tensor x, lengths;
};

class Regressor : public Napi::ObjectWrap<Regressor> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Regressor",
                       {InstanceMethod<&Regressor::Fit>("fit"), InstanceMethod<&Regressor::Predict>("predict"),
                        InstanceMethod<&Regressor::Save>("save"), InstanceMethod<&Regressor::Load>("load")});
  }

  // new Regressor({ kind: 'lstm' | 'mlp', inputSize, hidden, layers, seed })
  explicit Regressor(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Regressor>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "Regressor(options: object)");
    Napi::Object o = info[0].As<Napi::Object>();
    std::string kind = GetString(o, "kind", "");
    if (kind != "lstm" && kind != "mlp") throw Napi::Error::New(env, "Regressor: kind must be lstm or mlp");
    try {
      inputSize_ = GetInt(o, "inputSize");
      std::lock_guard<std::mutex> lock(gInitMutex);
      torch::manual_seed(static_cast<uint64_t>(GetDouble(o, "seed", 0)));
      net_ = RegressorNet(kind == "lstm", inputSize_, GetInt(o, "hidden"), GetInt(o, "layers"));
    } catch (const std::exception& error) {
      throw Napi::Error::New(env, "Regressor: " + ErrorText(error));
    }
  }

  RegressorNet net_{nullptr};
  int64_t inputSize_ = 0;
  std::atomic<bool> busy_{false};

  // (inputs: Float32Array, lengths: Int32Array | null, count: number): tensors, checked against the kind.
  RegressorInput ReadInput(const Napi::CallbackInfo& info, size_t at) {
    Napi::Env env = info.Env();
    if (!info[at].IsTypedArray() || info[at].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      throw Napi::TypeError::New(env, "regressor inputs must be a Float32Array");
    }
    auto inputs = info[at].As<Napi::Float32Array>();
    int64_t count = static_cast<int64_t>(info[at + 2].As<Napi::Number>().DoubleValue());
    RegressorInput input;
    torch::Tensor flat = torch::from_blob(inputs.Data(), {static_cast<int64_t>(inputs.ElementLength())}, torch::kFloat32).clone();
    if (net_->sequence) {
      if (!info[at + 1].IsTypedArray()) throw Napi::TypeError::New(env, "an LSTM regressor needs lengths (Int32Array)");
      auto lengths = info[at + 1].As<Napi::Int32Array>();
      if (static_cast<int64_t>(lengths.ElementLength()) != count || count == 0 ||
          static_cast<int64_t>(inputs.ElementLength()) % (count * inputSize_) != 0) {
        throw Napi::RangeError::New(env, "regressor: inputs are not count x steps x inputSize");
      }
      int64_t steps = static_cast<int64_t>(inputs.ElementLength()) / (count * inputSize_);
      input.x = flat.view({count, steps, inputSize_});
      input.lengths = torch::from_blob(lengths.Data(), {count}, torch::kInt32).to(torch::kInt64);
      if (input.lengths.min().item<int64_t>() < 1 || input.lengths.max().item<int64_t>() > steps) {
        throw Napi::RangeError::New(env, "regressor: a length is outside 1..steps");
      }
    } else {
      if (count == 0 || static_cast<int64_t>(inputs.ElementLength()) != count * inputSize_) {
        throw Napi::RangeError::New(env, "regressor: inputs are not count x inputSize");
      }
      input.x = flat.view({count, inputSize_});
    }
    return input;
  }

 private:
  Napi::Value Fit(const Napi::CallbackInfo& info);

  // predict(inputs, lengths, count): Float32Array of count predictions
  Napi::Value Predict(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (busy_.load()) throw Napi::Error::New(env, "the regressor is busy fitting");
    RegressorInput input = ReadInput(info, 0);
    torch::NoGradGuard noGrad;
    net_->eval();
    torch::Tensor out = net_->forward(input.x, input.lengths).contiguous();
    Napi::Float32Array result = Napi::Float32Array::New(env, static_cast<size_t>(out.numel()));
    std::memcpy(result.Data(), out.data_ptr<float>(), sizeof(float) * result.ElementLength());
    return result;
  }

  void Save(const Napi::CallbackInfo& info) { SaveModule(*net_, info); }

  void Load(const Napi::CallbackInfo& info) { LoadModule(*net_, info, torch::kCPU); }
};

class FitWorker : public Napi::AsyncWorker {
 public:
  FitWorker(Napi::Env env, Regressor* regressor, Napi::Object ref, RegressorInput input, torch::Tensor targets,
            int64_t epochs, int64_t batchSize, double lr, double weightDecay, uint64_t seed, int64_t threads)
      : Napi::AsyncWorker(env, "nascent.fit"),
        regressor_(regressor),
        ref_(Napi::Persistent(ref)),
        input_(std::move(input)),
        targets_(std::move(targets)),
        epochs_(epochs),
        batchSize_(batchSize),
        lr_(lr),
        weightDecay_(weightDecay),
        seed_(seed),
        threads_(threads),
        deferred_(Napi::Promise::Deferred::New(env)) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      ThreadLease lease(threads_);
      RegressorNet& net = regressor_->net_;
      net->train();
      torch::optim::Adam optimizer(net->parameters(), torch::optim::AdamOptions(lr_).weight_decay(weightDecay_));
      const int64_t count = input_.x.size(0);
      std::vector<int64_t> order(static_cast<size_t>(count));
      std::iota(order.begin(), order.end(), 0);
      std::mt19937_64 engine(seed_);
      for (int64_t epoch = 0; epoch < epochs_; ++epoch) {
        std::shuffle(order.begin(), order.end(), engine);
        double sum = 0;
        for (int64_t start = 0; start < count; start += batchSize_) {
          int64_t end = std::min(count, start + batchSize_);
          torch::Tensor index = torch::tensor(std::vector<int64_t>(order.begin() + start, order.begin() + end));
          torch::Tensor x = input_.x.index_select(0, index);
          torch::Tensor lengths = input_.lengths.defined() ? input_.lengths.index_select(0, index) : torch::Tensor();
          optimizer.zero_grad();
          torch::Tensor loss = torch::mse_loss(net->forward(x, lengths), targets_.index_select(0, index));
          loss.backward();
          optimizer.step();
          sum += loss.item<double>() * static_cast<double>(end - start);
        }
        loss_ = sum / static_cast<double>(count);
        if (!std::isfinite(loss_)) throw std::runtime_error("the regressor's loss diverged at epoch " + std::to_string(epoch + 1));
      }
    } catch (const std::exception& error) {
      SetError(ErrorText(error));
    }
  }

  void OnOK() override {
    regressor_->busy_ = false;
    Napi::Object out = Napi::Object::New(Env());
    out.Set("loss", loss_);
    deferred_.Resolve(out);
  }

  void OnError(const Napi::Error& error) override {
    regressor_->busy_ = false;
    deferred_.Reject(Napi::Error::New(Env(), "fit failed: " + error.Message()).Value());
  }

 private:
  Regressor* regressor_;
  Napi::ObjectReference ref_;
  RegressorInput input_;
  torch::Tensor targets_;
  int64_t epochs_, batchSize_;
  double lr_, weightDecay_;
  uint64_t seed_;
  int64_t threads_;
  Napi::Promise::Deferred deferred_;
  double loss_ = 0;
};

// fit(inputs, lengths, count, targets: Float32Array, { epochs, batchSize, lr, weightDecay, seed, threads })
Napi::Value Regressor::Fit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (busy_.load()) throw Napi::Error::New(env, "the regressor is busy fitting");
  RegressorInput input = ReadInput(info, 0);
  if (!info[3].IsTypedArray()) throw Napi::TypeError::New(env, "fit: targets must be a Float32Array");
  auto targets = info[3].As<Napi::Float32Array>();
  if (static_cast<int64_t>(targets.ElementLength()) != input.x.size(0)) {
    throw Napi::RangeError::New(env, "fit: one target per input is needed");
  }
  torch::Tensor y = torch::from_blob(targets.Data(), {input.x.size(0)}, torch::kFloat32).clone();
  Napi::Object o = info[4].IsObject() ? info[4].As<Napi::Object>() : Napi::Object::New(env);
  busy_ = true;
  auto* worker = new FitWorker(env, this, Value(), std::move(input), y, static_cast<int64_t>(GetDouble(o, "epochs", 200)),
                               std::max<int64_t>(1, static_cast<int64_t>(GetDouble(o, "batchSize", 32))),
                               GetDouble(o, "lr", 1e-3), GetDouble(o, "weightDecay", 0),
                               static_cast<uint64_t>(GetDouble(o, "seed", 0)),
                               static_cast<int64_t>(GetDouble(o, "threads", 1)));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

// ---------------------------------------------------------------------------------------------

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("torchVersion", std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
                              std::to_string(TORCH_VERSION_PATCH));
  out.Set("cudaAvailable", torch::cuda::is_available());
  out.Set("cudaDevices", static_cast<double>(torch::cuda::is_available() ? torch::cuda::device_count() : 0));
  out.Set("hardwareCores", static_cast<double>(HardwareCores()));
  out.Set("mallocTuned", kMallocTuned);
  out.Set("datasetCopies", static_cast<double>(gDatasetCopies.load()));
  return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  Napi::Function dataset = Dataset::Define(env);
  gDatasetConstructor = new Napi::FunctionReference(Napi::Persistent(dataset));
  exports.Set("Dataset", dataset);
  exports.Set("Model", Model::Define(env));
  exports.Set("Regressor", Regressor::Define(env));
  exports.Set("info", Napi::Function::New(env, Info));
  return exports;
}

}  // namespace

NODE_API_MODULE(nascent, Init)
