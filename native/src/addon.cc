// Module entry: exports { PerfGroup, rlimitNofile }.
#include <napi.h>
#include <sys/resource.h>

#include <cerrno>
#include <limits>

#include "errors.h"
#include "perf_group.h"

namespace perfwatch {
namespace {

double Limit(rlim_t v) {
  return v == RLIM_INFINITY ? std::numeric_limits<double>::infinity() : static_cast<double>(v);
}

// rlimitNofile() -> { soft: number, hard: number } (Infinity for RLIM_INFINITY). From getrlimit
// rather than /proc/self/limits so it is exact and cheap to call before every open.
Napi::Value RlimitNofile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
    ThrowErrno(env, errno, "getrlimit", -1, 0);
    return env.Undefined();
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("soft", Napi::Number::New(env, Limit(rl.rlim_cur)));
  out.Set("hard", Napi::Number::New(env, Limit(rl.rlim_max)));
  return out;
}

}  // namespace
}  // namespace perfwatch

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  exports.Set("PerfGroup", perfwatch::PerfGroup::Init(env));
  exports.Set("rlimitNofile", Napi::Function::New<perfwatch::RlimitNofile>(env, "rlimitNofile"));
  return exports;
}

NODE_API_MODULE(perfwatch_native, InitModule)
