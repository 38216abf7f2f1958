// readFiles: many small kernel files (cgroup control files, /proc/<pid>/stat) read in one call.
// A collection reads a few thousand of them; through Node's fs each open/read/close costs
// 11-20 us of CPU on the development VM against ~5 us in C, most of it the per-call overhead of
// three fs bindings and a string per file. Here the files are read one after the other into one
// buffer and their lengths (or errno) reported; lib/files.ts makes the strings.
#include "files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "errors.h"

namespace perfwatch {
namespace {

// A file longer than this is reported as EFBIG rather than read on: nothing read here is close.
constexpr size_t kMaxFile = 64u << 20;

// readFiles' fds[i] (see there): open, read and close; or open, read and keep the descriptor.
constexpr int32_t kNoKeep = -2;
constexpr int32_t kOpenAndKeep = -1;
// A kept descriptor of a kernel filesystem (procfs, sysfs, cgroupfs) carries this bit in fds[i]:
// its object gone (a process exited, a group removed), its reads fail, so it needs no fstat(2)
// before each read. Any other file is checked for a link left (a fixture tree's files replaced).
constexpr int32_t kKernelFs = 1 << 30;

// statfs(2)'s f_type of the file's filesystem (linux/magic.h), 0 where it cannot be told.
constexpr unsigned long kProcFs = 0x9fa0UL, kSysFs = 0x62656572UL, kCgroupFs = 0x27e0ebUL, kCgroup2Fs = 0x63677270UL,
                        kTmpFs = 0x01021994UL, kExtFs = 0xEF53UL, kXfs = 0x58465342UL;
unsigned long FsType(int fd) {
  struct statfs fs{};
  return fstatfs(fd, &fs) == 0 ? static_cast<unsigned long>(fs.f_type) : 0;
}

// procfs, sysfs, cgroup v1 and v2.
bool IsKernelFs(int fd) {
  const unsigned long t = FsType(fd);
  return t == kProcFs || t == kSysFs || t == kCgroupFs || t == kCgroup2Fs;
}

// Where the files' contents go, one after the other: the caller's buffer, then a growing copy.
struct Sink {
  char* out;
  size_t cap;
  size_t used;
  std::vector<char> spill;  // once the files outgrow the caller's buffer
  int32_t last = 0;         // the length of the file read last

  // Reads fd to EOF (read(2) returning 0: a seq_file may return less than asked before the end),
  // from offset 0 with pread(2) when `again` (a kept descriptor); 0 or the errno, and then the
  // file's bytes are dropped. `size` >= 0: a regular file's size from fstat(2) just before, so
  // that once that many bytes are in no read is spent on learning it ends.
  // `one`: the file is one record made whole at each read (a single_open seq_file such as
  // /proc/<pid>/stat, a kernfs attribute or cgroup control file): a read that returns less than
  // it asked for is the end.
  int ReadAll(int fd, bool again, off_t size = -1, bool one = false) {
    const size_t start = used;
    for (;;) {
      if (used - start > kMaxFile) {
        used = start;
        return EFBIG;
      }
      if (used == cap) {
        if (spill.empty()) spill.assign(out, out + used);
        spill.resize(cap < 64 * 1024 ? 128 * 1024 : cap * 2);
        out = spill.data();
        cap = spill.size();
      }
      const size_t asked = cap - used;
      ssize_t got = again ? pread(fd, out + used, asked, static_cast<off_t>(used - start)) : read(fd, out + used, asked);
      if (got < 0) {
        if (errno == EINTR) continue;
        int err = errno;
        used = start;
        return err;
      }
      if (got == 0) break;
      used += static_cast<size_t>(got);
      if (size >= 0 && used - start == static_cast<size_t>(size)) break;
      if (one && static_cast<size_t>(got) < asked) break;
    }
    last = static_cast<int32_t>(used - start);
    return 0;
  }
};

}  // namespace

// readFiles(paths: string, count: number, buf: Buffer, lens: Int32Array, fds?: Int32Array, oneRecord?: boolean) -> number | Buffer
//   paths: the `count` paths joined by "\0" (no path holds a NUL byte).
//   lens[i]: bytes read from path i (>= 0), or -errno where open(2) or read(2) failed (ENOENT for
//            a file that is not there, EISDIR for a directory, EFBIG beyond kMaxFile).
//   The contents of the files read lie one after the other, in order, from offset 0: in `buf`
//   when they fit, and the call returns their total length; else in a new Buffer it returns.
//   fds (optional), per path, in and out: -2 open, read, close; -1 open, read and keep the
//   descriptor open (fds[i] = it, with bit 30 set on a kernel filesystem: kKernelFs; or -1 again
//   where that failed); a descriptor (>= 0) kept before:
//   read again from offset 0 with pread(2) (procfs and kernfs files make their text anew), and
//   where that fails (a process that exited, a cgroup removed) or the file has no link left (a
//   regular file unlinked and perhaps made again) closed, and the path opened afresh.
//   Reading a kept /proc/<pid>/stat costs ~3 us here against ~7.7 us to open, read and close it.
//   Per kept file: procfs/sysfs/cgroupfs two reads (the text, then EOF), or one with oneRecord
//   (below); another filesystem an fstat(2) and one read when the size it gave is all there is.
//   oneRecord (optional): the caller's word that each file is one record the kernel makes whole
//   at each read (/proc/<pid>/stat, cgroup control files, sysfs attributes; not /proc/<pid>/maps
//   or /proc/net/*, whose reads stop at page-sized records): a file opened here, or kept on a
//   kernel filesystem, then reads once where that read came back short of the buffer.
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

  int32_t* fds = nullptr;
  if (info.Length() >= 5 && !info[4].IsUndefined()) {
    if (!info[4].IsTypedArray() || info[4].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
        static_cast<size_t>(count) > info[4].As<Napi::TypedArray>().ElementLength()) {
      Napi::RangeError::New(env, "readFiles: fds must be an Int32Array of at least `count` elements").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    fds = info[4].As<Napi::Int32Array>().Data();
  }
  // oneRecord (optional): each file is one record made whole at each read (see Sink::ReadAll)
  const bool one_record = info.Length() >= 6 && info[5].IsBoolean() && info[5].As<Napi::Boolean>().Value();

  Sink sink{buf.Data(), buf.Length(), 0, {}};
  const char* p = paths.c_str();
  const char* const end = p + paths.size();
  for (int64_t i = 0; i < count; i++) {
    if (p > end) {
      lens[i] = -EINVAL;  // fewer paths than count
      continue;
    }
    const char* path = p;
    p += strlen(p) + 1;
    const int32_t was = fds ? fds[i] : kNoKeep;
    if (was >= 0) {
      // a kept descriptor: read again from offset 0 (procfs and kernfs make the text anew); on
      // any other filesystem not where the file was unlinked meanwhile (a regular file replaced:
      // a fixture tree), and there its size says where it ends
      const int fd = was & ~kKernelFs;
      int err;
      if (was & kKernelFs) {
        err = sink.ReadAll(fd, true, -1, one_record);
      } else {
        struct stat st{};
        err = fstat(fd, &st) != 0 || st.st_nlink == 0 ? ENOENT : sink.ReadAll(fd, true, S_ISREG(st.st_mode) && st.st_size > 0 ? st.st_size : -1);
      }
      if (err == 0) {
        lens[i] = sink.last;
        continue;
      }
      // the process exited, the group was removed (or recreated): open the path afresh
      close(fd);
      fds[i] = kOpenAndKeep;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
      lens[i] = -errno;
      if (fds && was != kNoKeep) fds[i] = kOpenAndKeep;
      continue;
    }
    // oneRecord: a short read is the end here on any filesystem (a regular file's read comes back
    // short only there), so an open, one read and a close
    int err = sink.ReadAll(fd, false, -1, one_record);
    lens[i] = err != 0 ? -err : sink.last;
    if (err == 0 && fds && was != kNoKeep) {
      fds[i] = IsKernelFs(fd) ? (fd | kKernelFs) : fd;
    } else {
      close(fd);
      if (fds && was != kNoKeep) fds[i] = kOpenAndKeep;
    }
  }
  if (sink.spill.empty()) return Napi::Number::New(env, static_cast<double>(sink.used));
  return Napi::Buffer<char>::Copy(env, sink.spill.data(), sink.used);
}

// closeFds(fds: Int32Array, count: number): closes each descriptor >= 0 (a readFiles kept one).
Napi::Value CloseFds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array || !info[1].IsNumber()) {
    Napi::TypeError::New(env, "closeFds(fds: Int32Array, count: number)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Int32Array fds = info[0].As<Napi::Int32Array>();
  int64_t count = info[1].As<Napi::Number>().Int64Value();
  if (count < 0 || static_cast<size_t>(count) > fds.ElementLength()) {
    Napi::RangeError::New(env, "closeFds: count beyond the array").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  for (int64_t i = 0; i < count; i++) {
    if (fds[i] >= 0) close(fds[i] & ~kKernelFs);
  }
  return env.Undefined();
}

namespace {

// Filesystems that keep the Unix convention that a directory's link count is 2 plus its
// subdirectories (kernfs sets it from its count of subdirectories at each stat): cgroup v1 and
// v2, sysfs, tmpfs, ext2/3/4, xfs. btrfs (always 1), overlayfs' merged directories (1) and
// others are listed without it.
bool CountsSubdirs(int fd) {
  const unsigned long t = FsType(fd);
  return t == kCgroupFs || t == kCgroup2Fs || t == kSysFs || t == kTmpFs || t == kExtFs || t == kXfs;
}

struct Dirent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

// The names of the directories in `fd` (and of entries whose type getdents(2) does not give):
// getdents64(2) straight into one buffer, no DIR stream (fdopendir's fcntl(2)s and fstat(2)).
// 0, or the errno.
int SubdirNames(int fd, std::vector<std::string>& names, std::vector<bool>& unknown) {
  alignas(8) static thread_local char buf[32 * 1024];
  for (;;) {
    long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return 0;
    for (long off = 0; off < n;) {
      const Dirent64* e = reinterpret_cast<const Dirent64*>(buf + off);
      off += e->d_reclen;
      if (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN) continue;
      if (e->d_name[0] == '.' && (e->d_name[1] == 0 || (e->d_name[1] == '.' && e->d_name[2] == 0))) continue;
      names.emplace_back(e->d_name);
      unknown.push_back(e->d_type == DT_UNKNOWN);
    }
  }
}

// Every directory below a root, as paths from it. `leaves`: the root's filesystem counts
// subdirectories in a directory's link count (CountsSubdirs), so a subdirectory whose count is 2
// has none and is not opened: one fstatat(2) for a leaf group instead of an open, two
// getdents(2) and a close (a host's groups are mostly leaves: containers, services).
struct Walker {
  std::vector<std::string> out;
  std::string failed;
  bool leaves = false;

  // Appends every directory below `name` (its path `rel` from the root); false with errno set
  // where a directory other than a vanished one could not be listed.
  bool Walk(int dirfd_parent, const char* name, const std::string& rel) {
    int fd = openat(dirfd_parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) return true;  // removed while we walk: gone
      failed = rel.empty() ? name : rel;
      return false;
    }
    if (rel.empty()) leaves = CountsSubdirs(fd);
    std::vector<std::string> names;
    std::vector<bool> unknown;
    int err = SubdirNames(fd, names, unknown);
    if (err != 0 && err != ENOENT) {
      close(fd);
      errno = err;
      failed = rel;
      return false;
    }
    bool ok = true;
    for (size_t i = 0; i < names.size(); i++) {
      const char* sub_name = names[i].c_str();
      bool leaf = false;
      if (leaves || unknown[i]) {
        struct stat st{};
        if (fstatat(fd, sub_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // gone since the listing
        if (!S_ISDIR(st.st_mode)) continue;
        leaf = leaves && st.st_nlink == 2;
      }
      std::string sub = rel + "/" + sub_name;
      out.push_back(sub);
      if (!leaf && !Walk(fd, sub_name, sub)) {
        ok = false;
        break;
      }
    }
    err = errno;
    close(fd);
    errno = err;
    return ok;
  }
};

}  // namespace

// listDirs(root: string) -> string[]: every directory below root as a path from it ("/a",
// "/a/b"), root left out, in no particular order; a directory removed during the walk is skipped.
// The cgroup collector walks the hierarchy at every collection: through readdirSync that is a
// Dirent per control file (~20 per group), here one getdents(2) per group that has groups below
// it (and one to see the end), an fstatat(2) per leaf group (Walk), and a string per group.
// Throws Error(errno, syscall "opendir", path) where a directory cannot be listed for another reason.
Napi::Value ListDirs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    Napi::TypeError::New(env, "listDirs(root: string)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string root = info[0].As<Napi::String>().Utf8Value();
  Walker w;
  if (!w.Walk(AT_FDCWD, root.c_str(), "")) {
    Napi::Error error = Napi::Error::New(env, std::string("opendir: ") + strerror(errno) + ": " + (w.failed == root ? root : root + w.failed));
    error.Value().Set("code", Napi::String::New(env, ErrnoName(errno)));
    error.ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Array arr = Napi::Array::New(env, w.out.size());
  for (size_t i = 0; i < w.out.size(); i++) arr.Set(static_cast<uint32_t>(i), Napi::String::New(env, w.out[i]));
  return arr;
}

}  // namespace perfwatch
