// readFiles: many small kernel files (cgroup control files, /proc/<pid>/stat) read in one call.
// A collection reads a few thousand of them; through Node's fs each open/read/close costs
// 11-20 us of CPU on the development VM against ~5 us in C, most of it the per-call overhead of
// three fs bindings and a string per file. Here the files are read one after the other into one
// buffer and their lengths (or errno) reported; lib/files.ts makes the strings.
#include "files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <string>
#include <vector>

namespace perfwatch {
namespace {

// A file longer than this is reported as EFBIG rather than read on: nothing read here is close.
constexpr size_t kMaxFile = 64u << 20;

}  // namespace

// readFiles(paths: string, count: number, buf: Buffer, lens: Int32Array) -> number | Buffer
//   paths: the `count` paths joined by "\0" (no path holds a NUL byte).
//   lens[i]: bytes read from path i (>= 0), or -errno where open(2) or read(2) failed (ENOENT for
//            a file that is not there, EISDIR for a directory, EFBIG beyond kMaxFile).
//   The contents of the files read lie one after the other, in order, from offset 0: in `buf`
//   when they fit, and the call returns their total length; else in a new Buffer it returns.
// Each file is read to EOF (read(2) returning 0): a seq_file may return less than asked before
// the end. Opened O_NONBLOCK so that a FIFO where a control file should be cannot hang the
// collection (regular, proc and kernfs files ignore the flag).
Napi::Value ReadFiles(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsString() || !info[1].IsNumber() || !info[2].IsBuffer() || !info[3].IsTypedArray()) {
    Napi::TypeError::New(env, "readFiles(paths: string, count: number, buf: Buffer, lens: Int32Array)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string paths = info[0].As<Napi::String>().Utf8Value();
  int64_t count = info[1].As<Napi::Number>().Int64Value();
  Napi::Buffer<char> buf = info[2].As<Napi::Buffer<char>>();
  Napi::TypedArray ta = info[3].As<Napi::TypedArray>();
  if (ta.TypedArrayType() != napi_int32_array || count < 0 || static_cast<size_t>(count) > ta.ElementLength()) {
    Napi::RangeError::New(env, "readFiles: lens must be an Int32Array of at least `count` elements").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int32_t* lens = ta.As<Napi::Int32Array>().Data();

  char* out = buf.Data();
  size_t cap = buf.Length();
  size_t used = 0;
  std::vector<char> spill;  // once the files outgrow `buf`
  const char* p = paths.c_str();
  const char* const end = p + paths.size();
  for (int64_t i = 0; i < count; i++) {
    if (p > end) {
      lens[i] = -EINVAL;  // fewer paths than count
      continue;
    }
    const char* path = p;
    p += strlen(p) + 1;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
      lens[i] = -errno;
      continue;
    }
    const size_t start = used;
    int err = 0;
    for (;;) {
      if (used - start > kMaxFile) {
        err = EFBIG;
        break;
      }
      if (used == cap) {
        if (spill.empty()) spill.assign(out, out + used);
        spill.resize(cap < 64 * 1024 ? 128 * 1024 : cap * 2);
        out = spill.data();
        cap = spill.size();
      }
      ssize_t got = read(fd, out + used, cap - used);
      if (got < 0) {
        if (errno == EINTR) continue;
        err = errno;
        break;
      }
      if (got == 0) break;
      used += static_cast<size_t>(got);
    }
    close(fd);
    if (err != 0) {
      used = start;
      lens[i] = -err;
    } else {
      lens[i] = static_cast<int32_t>(used - start);
    }
  }
  if (spill.empty()) return Napi::Number::New(env, static_cast<double>(used));
  return Napi::Buffer<char>::Copy(env, spill.data(), used);
}

}  // namespace perfwatch
