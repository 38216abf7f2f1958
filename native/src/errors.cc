#include "errors.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

namespace perfwatch {

const char* ErrnoName(int err) {
  // A table rather than strerrorname_np (glibc >= 2.32 only, absent on musl).
  switch (err) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case ESRCH: return "ESRCH";
    case EINTR: return "EINTR";
    case EIO: return "EIO";
    case E2BIG: return "E2BIG";
    case EBADF: return "EBADF";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";
    case ENODEV: return "ENODEV";
    case ENOTDIR: return "ENOTDIR";
    case EINVAL: return "EINVAL";
    case ENFILE: return "ENFILE";
    case EMFILE: return "EMFILE";
    case ENOSPC: return "ENOSPC";
    case ENOSYS: return "ENOSYS";
    case EOVERFLOW: return "EOVERFLOW";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    default: break;
  }
  static thread_local char buf[16];
  snprintf(buf, sizeof buf, "E%d", err);
  return buf;
}

void ThrowErrno(Napi::Env env, int err, const char* syscall, int event_index, size_t opened) {
  std::string message = std::string(syscall) + ": " + strerror(err);
  Napi::Error error = Napi::Error::New(env, message);
  Napi::Object obj = error.Value();
  obj.Set("errno", Napi::String::New(env, ErrnoName(err)));
  obj.Set("errnum", Napi::Number::New(env, err));
  obj.Set("syscall", Napi::String::New(env, syscall));
  obj.Set("eventIndex", Napi::Number::New(env, event_index));
  obj.Set("opened", Napi::Number::New(env, static_cast<double>(opened)));
  error.ThrowAsJavaScriptException();
}

}  // namespace perfwatch
