// Module entry: exports { PerfGroup, rlimitNofile, adjtimex, localZone, readFiles, listDirs, closeFds }.
#include <napi.h>
#include <sys/resource.h>
#include <sys/timex.h>
#include <time.h>

#include <cerrno>
#include <limits>

#include "errors.h"
#include "files.h"
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

// adjtimex() -> the kernel's clock discipline state (adjtimex(2) with modes = 0: reads only, no
// privilege needed): { state, status, offset, freq, maxerror, esterror, constant, precision,
// tolerance, tick, ppsfreq, jitter, shift, stabil, jitcnt, calcnt, errcnt, stbcnt, tai }, every
// field as the kernel gives it (units and scaling are lib/timex.ts's). Node has no such call.
Napi::Value Adjtimex(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  struct timex tx{};
  tx.modes = 0;
  int state = adjtimex(&tx);
  if (state < 0) {
    ThrowErrno(env, errno, "adjtimex", -1, 0);
    return env.Undefined();
  }
  Napi::Object out = Napi::Object::New(env);
  auto set = [&](const char* name, double v) { out.Set(name, Napi::Number::New(env, v)); };
  set("state", state);
  set("status", tx.status);
  set("offset", static_cast<double>(tx.offset));
  set("freq", static_cast<double>(tx.freq));
  set("maxerror", static_cast<double>(tx.maxerror));
  set("esterror", static_cast<double>(tx.esterror));
  set("constant", static_cast<double>(tx.constant));
  set("precision", static_cast<double>(tx.precision));
  set("tolerance", static_cast<double>(tx.tolerance));
  set("tick", static_cast<double>(tx.tick));
  set("ppsfreq", static_cast<double>(tx.ppsfreq));
  set("jitter", static_cast<double>(tx.jitter));
  set("shift", tx.shift);
  set("stabil", static_cast<double>(tx.stabil));
  set("jitcnt", static_cast<double>(tx.jitcnt));
  set("calcnt", static_cast<double>(tx.calcnt));
  set("errcnt", static_cast<double>(tx.errcnt));
  set("stbcnt", static_cast<double>(tx.stbcnt));
  set("tai", tx.tai);
  return out;
}

// localZone() -> { name, offset }: the local time zone's abbreviation now ("UTC", "CET", "PDT")
// and its offset east of UTC in seconds, from the C library (tzset: TZ, else /etc/localtime; UTC
// when neither gives a zone), which is what Go's time.Now().Zone() gives node_exporter's time
// collector. Node has it only through ICU (Intl), whose time zone data cost the exporter ~7 MB.
Napi::Value LocalZone(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  tzset();
  time_t now = time(nullptr);
  struct tm tm{};
  if (localtime_r(&now, &tm) == nullptr) {
    ThrowErrno(env, errno, "localtime_r", -1, 0);
    return env.Undefined();
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("name", Napi::String::New(env, tm.tm_zone != nullptr ? tm.tm_zone : "UTC"));
  out.Set("offset", Napi::Number::New(env, static_cast<double>(tm.tm_gmtoff)));
  return out;
}

}  // namespace
}  // namespace perfwatch

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  exports.Set("PerfGroup", perfwatch::PerfGroup::Init(env));
  exports.Set("rlimitNofile", Napi::Function::New<perfwatch::RlimitNofile>(env, "rlimitNofile"));
  exports.Set("adjtimex", Napi::Function::New<perfwatch::Adjtimex>(env, "adjtimex"));
  exports.Set("localZone", Napi::Function::New<perfwatch::LocalZone>(env, "localZone"));
  exports.Set("readFiles", Napi::Function::New<perfwatch::ReadFiles>(env, "readFiles"));
  exports.Set("listDirs", Napi::Function::New<perfwatch::ListDirs>(env, "listDirs"));
  exports.Set("closeFds", Napi::Function::New<perfwatch::CloseFds>(env, "closeFds"));
  return exports;
}

NODE_API_MODULE(perfwatch_native, InitModule)
