// readFiles(): many small files read in one call; listDirs(): a directory tree's directories (files.cc).
#pragma once

#include <napi.h>

namespace perfwatch {

Napi::Value ReadFiles(const Napi::CallbackInfo& info);
Napi::Value ListDirs(const Napi::CallbackInfo& info);
Napi::Value CloseFds(const Napi::CallbackInfo& info);

}  // namespace perfwatch
