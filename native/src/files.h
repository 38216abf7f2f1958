// readFiles(): many small files read in one call (files.cc).
#pragma once

#include <napi.h>

namespace perfwatch {

Napi::Value ReadFiles(const Napi::CallbackInfo& info);

}  // namespace perfwatch
