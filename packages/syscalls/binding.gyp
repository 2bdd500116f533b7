{
  "targets": [
    {
      "target_name": "bpfkit_syscalls",
      "sources": [
        "native/addon.cc",
        "native/bpf.cc",
        "native/btf.cc",
        "native/constants.cc",
        "native/elem_arena.cc",
        "native/hot_v8.cc",
        "native/mmap.cc",
        "native/poller.cc",
        "native/sys.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "_GNU_SOURCE"
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags": ["-Wall", "-Wextra", "-fvisibility=hidden"],
      "cflags_cc": ["-fexceptions", "-std=gnu++20"],
      "conditions": [
        ["OS!='linux'", { "type": "none" }]
      ]
    }
  ]
}
