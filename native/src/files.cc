// readFiles: many small kernel files (cgroup control files, /proc/<pid>/stat) read in one call.
// A collection reads a few thousand of them; through Node's fs each open/read/close costs
// 11-20 us of CPU on the development VM against ~5 us in C, most of it the per-call overhead of
// three fs bindings and a string per file. Here the files are read one after the other into one
// buffer and their lengths (or errno) reported; lib/files.ts makes the strings.
#include "files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <string>
#include <vector>

#include "errors.h"

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

namespace {

// Appends every directory below `dir` (its path `rel` from the root) to `out`; false with errno
// set where a directory other than a vanished one could not be listed.
bool Walk(int dirfd_parent, const char* name, const std::string& rel, std::vector<std::string>& out, std::string& failed) {
  int fd = openat(dirfd_parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return true;  // removed while we walk: gone
    failed = rel.empty() ? name : rel;
    return false;
  }
  DIR* d = fdopendir(fd);
  if (d == nullptr) {
    int err = errno;
    close(fd);
    errno = err;
    failed = rel;
    return false;
  }
  bool ok = true;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.' && (e->d_name[1] == 0 || (e->d_name[1] == '.' && e->d_name[2] == 0))) continue;
    bool is_dir = e->d_type == DT_DIR;
    if (e->d_type == DT_UNKNOWN) {
      struct stat st{};
      is_dir = fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
    }
    if (!is_dir) continue;
    std::string sub = rel + "/" + e->d_name;
    out.push_back(sub);
    if (!Walk(dirfd(d), e->d_name, sub, out, failed)) {
      ok = false;
      break;
    }
  }
  int err = errno;
  closedir(d);
  errno = err;
  return ok;
}

}  // namespace

// listDirs(root: string) -> string[]: every directory below root as a path from it ("/a",
// "/a/b"), root left out, in no particular order; a directory removed during the walk is skipped.
// The cgroup collector walks the hierarchy at every collection: through readdirSync that is a
// Dirent per control file (~20 per group), here a getdents(2) per group and a string per group.
// Throws Error(errno, syscall "opendir", path) where a directory cannot be listed for another reason.
Napi::Value ListDirs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    Napi::TypeError::New(env, "listDirs(root: string)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string root = info[0].As<Napi::String>().Utf8Value();
  std::vector<std::string> out;
  std::string failed;
  if (!Walk(AT_FDCWD, root.c_str(), "", out, failed)) {
    Napi::Error error = Napi::Error::New(env, std::string("opendir: ") + strerror(errno) + ": " + (failed == root ? root : root + failed));
    error.Value().Set("code", Napi::String::New(env, ErrnoName(errno)));
    error.ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Array arr = Napi::Array::New(env, out.size());
  for (size_t i = 0; i < out.size(); i++) arr.Set(static_cast<uint32_t>(i), Napi::String::New(env, out[i]));
  return arr;
}

}  // namespace perfwatch
