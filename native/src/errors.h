// Turning a failed syscall into a JavaScript Error. The Error carries the raw facts (errno name,
// syscall, which event of the group failed); lib/errors.ts turns them into a reason a person can
// act on, because that needs /proc and /sys context that is easier to gather in TypeScript.
#pragma once

#include <napi.h>

#include <cstddef>

namespace perfwatch {

// "EACCES" for EACCES; "E<n>" for numbers not in the table.
const char* ErrnoName(int err);

// Sets a pending JS exception: Error("<syscall>: <strerror>") with properties
//   errno (string), errnum (number), syscall (string), eventIndex (number, -1 when the failure is
//   not about one event, e.g. opening the cgroup directory), opened (fds open before the failure).
void ThrowErrno(Napi::Env env, int err, const char* syscall, int event_index, size_t opened);

}  // namespace perfwatch
