// One perf_event_open(2) group: a leader and its members, opened on one (pid, cpu) or
// (cgroup, cpu), read together with a single read(2) on the leader.
#pragma once

#include <napi.h>

#include <cstdint>
#include <vector>

namespace perfwatch {

class PerfGroup : public Napi::ObjectWrap<PerfGroup> {
 public:
  static Napi::Function Init(Napi::Env env);

  // new PerfGroup(events: {type: number, config: number | bigint}[], pid: number, cpu: number,
  //               cgroupPath: string | null, options: {excludeKernel?: boolean, excludeHv?: boolean})
  // Throws an Error carrying errno/syscall/eventIndex (see errors.h) when any open fails; fds
  // opened before the failure are closed first, so a failed constructor leaks nothing.
  explicit PerfGroup(const Napi::CallbackInfo& info);
  // Runs when the JS object is garbage-collected: a group the caller forgot to close() does not
  // keep its fds (and kernel counters) for the life of the process.
  ~PerfGroup() override;

 private:
  // read(into: BigUint64Array) -> number of u64 words written:
  //   [nr, time_enabled, time_running, value0, id0, value1, id1, ...]
  // (PERF_FORMAT_GROUP | TOTAL_TIME_ENABLED | TOTAL_TIME_RUNNING | ID). The caller owns the
  // buffer, so a read allocates nothing on the native side.
  Napi::Value Read(const Napi::CallbackInfo& info);
  Napi::Value Reset(const Napi::CallbackInfo& info);
  Napi::Value Enable(const Napi::CallbackInfo& info);
  Napi::Value Disable(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Ids(const Napi::CallbackInfo& info);
  Napi::Value FdCount(const Napi::CallbackInfo& info);
  Napi::Value Closed(const Napi::CallbackInfo& info);

  Napi::Value GroupIoctl(const Napi::CallbackInfo& info, unsigned long request, const char* name);
  void CloseAll();

  std::vector<int> fds_;        // fds_[0] is the leader; empty once closed
  std::vector<uint64_t> ids_;   // PERF_EVENT_IOC_ID of each fd, same order
};

}  // namespace perfwatch
