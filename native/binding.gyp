# Builds build/Release/perfwatch_native.node: a thin perf_event_open(2) binding.
# The C++ side only opens, reads, resets and closes fds (and reads many small files in one call,
# src/files.cc); the event catalog, error reasons and
# scaling live in lib/*.ts, so this file and src/ stay small. Linux only: build.mjs skips the
# build on other platforms and lib/native.ts then reports "native addon not built".
{
  "targets": [
    {
      "target_name": "perfwatch_native",
      "sources": ["src/addon.cc", "src/perf_group.cc", "src/errors.cc", "src/files.cc"],
      # node_addon_api (not _except): C++ exceptions are disabled (NODE_ADDON_API_DISABLE_CPP_EXCEPTIONS,
      # -fno-exceptions). Every failure here is a syscall errno that we hand to JavaScript as an
      # Error with errno/syscall/eventIndex properties; C++ exceptions would only add a second
      # error path and unwind tables for code that never throws.
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-missing-field-initializers"]
    }
  ]
}
