#include "perf_group.h"

#include <fcntl.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "errors.h"

namespace perfwatch {

namespace {

constexpr uint64_t kReadFormat = PERF_FORMAT_GROUP | PERF_FORMAT_TOTAL_TIME_ENABLED |
                                 PERF_FORMAT_TOTAL_TIME_RUNNING | PERF_FORMAT_ID;

long PerfEventOpen(perf_event_attr* attr, pid_t pid, int cpu, int group_fd, unsigned long flags) {
  return syscall(SYS_perf_event_open, attr, pid, cpu, group_fd, flags);
}

bool ToU64(const Napi::Value& v, uint64_t* out) {
  if (v.IsBigInt()) {
    bool lossless = false;
    *out = v.As<Napi::BigInt>().Uint64Value(&lossless);
    return lossless;
  }
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (d < 0 || d > 9007199254740991.0 || d != static_cast<double>(static_cast<uint64_t>(d))) {
      return false;
    }
    *out = static_cast<uint64_t>(d);
    return true;
  }
  return false;
}

bool BoolOption(const Napi::Object& options, const char* key) {
  Napi::Value v = options.Get(key);
  return v.IsBoolean() && v.As<Napi::Boolean>().Value();
}

void CloseFds(const std::vector<int>& fds) {
  // Members first: closing the leader first would briefly promote members to singletons.
  for (size_t i = fds.size(); i-- > 0;) close(fds[i]);
}

}  // namespace

Napi::Function PerfGroup::Init(Napi::Env env) {
  return DefineClass(env, "PerfGroup",
                     {
                         InstanceMethod<&PerfGroup::Read>("read"),
                         InstanceMethod<&PerfGroup::Reset>("reset"),
                         InstanceMethod<&PerfGroup::Enable>("enable"),
                         InstanceMethod<&PerfGroup::Disable>("disable"),
                         InstanceMethod<&PerfGroup::Close>("close"),
                         InstanceMethod<&PerfGroup::Ids>("ids"),
                         InstanceAccessor<&PerfGroup::FdCount>("fdCount"),
                         InstanceAccessor<&PerfGroup::Closed>("closed"),
                     });
}

PerfGroup::PerfGroup(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PerfGroup>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 5 || !info[0].IsArray() || !info[1].IsNumber() || !info[2].IsNumber() ||
      !(info[3].IsString() || info[3].IsNull()) || !info[4].IsObject()) {
    Napi::TypeError::New(env, "PerfGroup(events[], pid, cpu, cgroupPath|null, options)")
        .ThrowAsJavaScriptException();
    return;
  }
  Napi::Array events = info[0].As<Napi::Array>();
  const uint32_t n = events.Length();
  if (n == 0) {
    Napi::TypeError::New(env, "PerfGroup: at least one event").ThrowAsJavaScriptException();
    return;
  }
  std::vector<perf_event_attr> attrs(n);
  Napi::Object options = info[4].As<Napi::Object>();
  const bool exclude_kernel = BoolOption(options, "excludeKernel");
  const bool exclude_hv = BoolOption(options, "excludeHv");
  for (uint32_t i = 0; i < n; i++) {
    Napi::Value item = events.Get(i);
    uint64_t type = 0, config = 0;
    if (!item.IsObject() || !ToU64(item.As<Napi::Object>().Get("type"), &type) ||
        type > UINT32_MAX || !ToU64(item.As<Napi::Object>().Get("config"), &config)) {
      Napi::TypeError::New(env, "PerfGroup: events[" + std::to_string(i) +
                                    "] needs type (u32) and config (u64 number or bigint)")
          .ThrowAsJavaScriptException();
      return;
    }
    perf_event_attr& attr = attrs[i];
    memset(&attr, 0, sizeof attr);
    // sizeof from the build host's headers: a newer kernel accepts a smaller struct, an older
    // kernel accepts a larger one as long as the fields it does not know are zero (they are).
    attr.size = sizeof attr;
    attr.type = static_cast<uint32_t>(type);
    attr.config = config;
    attr.read_format = kReadFormat;
    // Leader starts disabled so every member starts counting at the same instant (the group
    // ENABLE below); members are enabled so they follow the leader.
    attr.disabled = i == 0 ? 1 : 0;
    attr.inherit = 0;  // group reads count this task only; inherit would split counts into children
    attr.exclude_kernel = exclude_kernel ? 1 : 0;
    attr.exclude_hv = exclude_hv ? 1 : 0;
  }

  const double pid_d = info[1].As<Napi::Number>().DoubleValue();
  const int cpu = info[2].As<Napi::Number>().Int32Value();
  pid_t pid = static_cast<pid_t>(pid_d);
  unsigned long flags = PERF_FLAG_FD_CLOEXEC;
  int cgroup_fd = -1;
  if (info[3].IsString()) {
    std::string path = info[3].As<Napi::String>().Utf8Value();
    cgroup_fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cgroup_fd < 0) {
      ThrowErrno(env, errno, "open", -1, 0);
      return;
    }
    // With PERF_FLAG_PID_CGROUP the "pid" argument is an fd of the cgroup directory; the kernel
    // takes its own reference, so the directory fd is closed as soon as the group is open.
    pid = cgroup_fd;
    flags |= PERF_FLAG_PID_CGROUP;
  }

  std::vector<int> fds;
  std::vector<uint64_t> ids;
  fds.reserve(n);
  ids.reserve(n);
  for (uint32_t i = 0; i < n; i++) {
    long fd = PerfEventOpen(&attrs[i], pid, cpu, i == 0 ? -1 : fds[0], flags);
    if (fd < 0) {
      const int err = errno;
      CloseFds(fds);
      if (cgroup_fd >= 0) close(cgroup_fd);
      ThrowErrno(env, err, "perf_event_open", static_cast<int>(i), fds.size());
      return;
    }
    fds.push_back(static_cast<int>(fd));
    uint64_t id = 0;
    if (ioctl(static_cast<int>(fd), PERF_EVENT_IOC_ID, &id) < 0) {
      const int err = errno;
      CloseFds(fds);
      if (cgroup_fd >= 0) close(cgroup_fd);
      ThrowErrno(env, err, "ioctl(PERF_EVENT_IOC_ID)", static_cast<int>(i), fds.size() - 1);
      return;
    }
    ids.push_back(id);
  }
  if (cgroup_fd >= 0) close(cgroup_fd);

  if (ioctl(fds[0], PERF_EVENT_IOC_ENABLE, PERF_IOC_FLAG_GROUP) < 0) {
    const int err = errno;
    CloseFds(fds);
    ThrowErrno(env, err, "ioctl(PERF_EVENT_IOC_ENABLE)", -1, fds.size());
    return;
  }
  fds_ = std::move(fds);
  ids_ = std::move(ids);
}

PerfGroup::~PerfGroup() { CloseAll(); }

void PerfGroup::CloseAll() {
  CloseFds(fds_);
  fds_.clear();
}

Napi::Value PerfGroup::Read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (fds_.empty()) {
    ThrowErrno(env, EBADF, "read", -1, 0);
    return env.Undefined();
  }
  if (info.Length() < 1 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_biguint64_array) {
    Napi::TypeError::New(env, "read(into: BigUint64Array)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::TypedArray into = info[0].As<Napi::TypedArray>();
  const size_t words = 3 + 2 * fds_.size();
  const size_t bytes = words * sizeof(uint64_t);
  if (into.ByteLength() < bytes) {
    Napi::RangeError::New(env, "read: buffer needs " + std::to_string(words) + " elements")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  uint8_t* data = static_cast<uint8_t*>(into.ArrayBuffer().Data()) + into.ByteOffset();
  ssize_t got;
  do {
    got = read(fds_[0], data, bytes);
  } while (got < 0 && errno == EINTR);
  if (got < 0) {
    ThrowErrno(env, errno, "read", -1, fds_.size());
    return env.Undefined();
  }
  if (static_cast<size_t>(got) != bytes) {
    // A group read returns all members or fails; anything else means the group changed under us.
    ThrowErrno(env, EIO, "read", -1, fds_.size());
    return env.Undefined();
  }
  return Napi::Number::New(env, static_cast<double>(words));
}

Napi::Value PerfGroup::GroupIoctl(const Napi::CallbackInfo& info, unsigned long request,
                                  const char* name) {
  Napi::Env env = info.Env();
  if (fds_.empty()) {
    ThrowErrno(env, EBADF, name, -1, 0);
    return env.Undefined();
  }
  if (ioctl(fds_[0], request, PERF_IOC_FLAG_GROUP) < 0) {
    ThrowErrno(env, errno, name, -1, fds_.size());
  }
  return env.Undefined();
}

Napi::Value PerfGroup::Reset(const Napi::CallbackInfo& info) {
  return GroupIoctl(info, PERF_EVENT_IOC_RESET, "ioctl(PERF_EVENT_IOC_RESET)");
}

Napi::Value PerfGroup::Enable(const Napi::CallbackInfo& info) {
  return GroupIoctl(info, PERF_EVENT_IOC_ENABLE, "ioctl(PERF_EVENT_IOC_ENABLE)");
}

Napi::Value PerfGroup::Disable(const Napi::CallbackInfo& info) {
  return GroupIoctl(info, PERF_EVENT_IOC_DISABLE, "ioctl(PERF_EVENT_IOC_DISABLE)");
}

Napi::Value PerfGroup::Close(const Napi::CallbackInfo& info) {
  CloseAll();
  return info.Env().Undefined();
}

Napi::Value PerfGroup::Ids(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env, ids_.size());
  for (size_t i = 0; i < ids_.size(); i++) {
    out.Set(static_cast<uint32_t>(i), Napi::BigInt::New(env, ids_[i]));
  }
  return out;
}

Napi::Value PerfGroup::FdCount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(fds_.size()));
}

Napi::Value PerfGroup::Closed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), fds_.empty());
}

}  // namespace perfwatch
