// Poller: libuv uv_poll on a file descriptor, calling back on the event loop.
//
// Lifetime rules:
// - The libuv handles live in a separately allocated PollState that is freed
//   only by libuv's close callbacks, so the JavaScript object (and its C++
//   Poller) can be garbage-collected at any time, also while polling: the
//   destructor stops and closes the handles without touching JavaScript.
// - The callback is stored as a property of the JavaScript object (under a
//   symbol only this addon knows), never in a strong native reference, so a
//   callback closure that references its own Poller does not keep it alive.
//   Keep a reference to the Poller for as long as you want callbacks.
// - stop() and close() make the handle inactive at once: the event loop is
//   not kept alive by a stopped or closed Poller. unref() lets a started
//   Poller leave the loop free to exit (uv_unref); ref() undoes it.
// - Errors (from uv_poll_init, a closed fd at start(), libuv's poll errors)
//   reach the callback as (status = -errno, events = 0), asynchronously.
#include <fcntl.h>
#include <poll.h>
#include <uv.h>

#include "addon.h"

namespace bpfkit {
namespace {

class Poller;

struct PollState {
  uv_poll_t poll;
  uv_timer_t timer;
  Poller* owner;     // nullptr once the Poller is closed or collected
  int open_handles;  // handles not yet closed by libuv
  bool poll_initialized;
};

// Per-environment data: an object holding the symbol under which a Poller's callback is stored.
struct AddonData {
  Napi::ObjectReference keys;
};

int ToUvEvents(int poll_events) {
  int events = 0;
  if (poll_events & POLLIN) events |= UV_READABLE;
  if (poll_events & POLLOUT) events |= UV_WRITABLE;
  if (poll_events & POLLPRI) events |= UV_PRIORITIZED;
  if (poll_events & POLLRDHUP) events |= UV_DISCONNECT;
  return events;
}

int ToPollEvents(int uv_events) {
  int events = 0;
  if (uv_events & UV_READABLE) events |= POLLIN;
  if (uv_events & UV_WRITABLE) events |= POLLOUT;
  if (uv_events & UV_PRIORITIZED) events |= POLLPRI;
  if (uv_events & UV_DISCONNECT) events |= POLLRDHUP;
  return events;
}

class Poller : public Napi::ObjectWrap<Poller> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Poller",
                       {
                           InstanceMethod<&Poller::Start>("start"),
                           InstanceMethod<&Poller::Stop>("stop"),
                           InstanceMethod<&Poller::Close>("close"),
                           InstanceMethod<&Poller::Ref>("ref"),
                           InstanceMethod<&Poller::Unref>("unref"),
                       });
  }

  explicit Poller(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Poller>(info), env_(info.Env()) {
    Napi::Env env = info.Env();
    if (!info.IsConstructCall()) throw Napi::TypeError::New(env, "Poller must be called with new");
    RequireArgs(info, 3, "Poller");
    fd_ = RequireInt32(info[0], "Poller: fd");
    uv_events_ = ToUvEvents(RequireInt32(info[1], "Poller: events"));
    if (!info[2].IsFunction()) throw Napi::TypeError::New(env, "Poller: callback must be a function");
    info.This().As<Napi::Object>().DefineProperty(
        Napi::PropertyDescriptor::Value(CallbackKey(env), info[2], napi_configurable));
    // A weak reference (count 0) to the same function: read on every wake-up instead of the property
    // (a property lookup costs ~10% of a wake-up). The property is what keeps the function alive.
    napi_create_reference(env, info[2], 0, &callback_ref_);

    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
      throw Napi::Error::New(env, "Poller: no libuv event loop");
    }
    state_ = new PollState();
    state_->owner = this;
    uv_timer_init(loop, &state_->timer);
    state_->timer.data = state_;
    state_->open_handles = 1;
    init_error_ = fd_ < 0 ? UV_EBADF : uv_poll_init(loop, &state_->poll, fd_);
    if (init_error_ == 0) {
      state_->poll.data = state_;
      state_->poll_initialized = true;
      state_->open_handles++;
    }
    napi_value name;
    napi_create_string_utf8(env, "bpfkit:Poller", NAPI_AUTO_LENGTH, &name);
    napi_async_init(env, nullptr, name, &async_context_);
  }

  ~Poller() override {
    Shutdown();
    DestroyAsyncContext();
    DeleteCallbackRef();
  }

 private:
  // The symbol is element 0 of the per-environment keys object: an element read, not a property lookup
  // by name (which would intern the name's string on every call: a cost on every wake-up).
  static Napi::Symbol CallbackKey(Napi::Env env) {
    AddonData* data = env.GetInstanceData<AddonData>();
    return data->keys.Value().Get(uint32_t{0}).As<Napi::Symbol>();
  }

  // start(): begin (or resume) polling.
  Napi::Value Start(const Napi::CallbackInfo& info) {
    if (closed_) return info.Env().Undefined();
    if (init_error_ != 0) {
      ScheduleError(init_error_);
    } else if (fcntl(fd_, F_GETFD) < 0) {
      // libuv aborts the process when asked to watch a closed fd: refuse here.
      ScheduleError(-errno);
    } else {
      int r = uv_poll_start(&state_->poll, uv_events_, OnPoll);
      if (r != 0) ScheduleError(r);
    }
    return info.Env().Undefined();
  }

  // stop(): stop polling; the Poller can be started again.
  Napi::Value Stop(const Napi::CallbackInfo& info) {
    if (!closed_) {
      if (state_->poll_initialized) uv_poll_stop(&state_->poll);
      uv_timer_stop(&state_->timer);
    }
    return info.Env().Undefined();
  }

  // ref()/unref(): whether an active Poller keeps the event loop alive (uv_ref/uv_unref on its handles).
  Napi::Value Ref(const Napi::CallbackInfo& info) {
    SetRef(true);
    return info.This();
  }

  Napi::Value Unref(const Napi::CallbackInfo& info) {
    SetRef(false);
    return info.This();
  }

  void SetRef(bool ref) {
    if (closed_) return;
    auto apply = [ref](uv_handle_t* handle) {
      if (ref) uv_ref(handle);
      else uv_unref(handle);
    };
    if (state_->poll_initialized) apply(reinterpret_cast<uv_handle_t*>(&state_->poll));
    apply(reinterpret_cast<uv_handle_t*>(&state_->timer));
  }

  // close(): stop for good and release the callback. Idempotent.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (!closed_) {
      Shutdown();
      if (!in_callback_) DestroyAsyncContext();  // else Deliver() destroys it after the callback returns
      if (!in_callback_) DeleteCallbackRef();  // else Deliver() deletes it after the callback returns
      Napi::Object self = info.This().As<Napi::Object>();
      self.Delete(CallbackKey(info.Env()));
    }
    return info.Env().Undefined();
  }

  // Stops and closes the libuv handles. Never calls into JavaScript.
  void Shutdown() {
    if (closed_) return;
    closed_ = true;
    PollState* state = state_;
    state_ = nullptr;
    state->owner = nullptr;
    if (state->poll_initialized) {
      uv_poll_stop(&state->poll);
      uv_close(reinterpret_cast<uv_handle_t*>(&state->poll), OnClose);
    }
    uv_timer_stop(&state->timer);
    uv_close(reinterpret_cast<uv_handle_t*>(&state->timer), OnClose);
  }

  void DeleteCallbackRef() {
    if (callback_ref_ != nullptr) {
      napi_delete_reference(env_, callback_ref_);
      callback_ref_ = nullptr;
    }
  }

  void DestroyAsyncContext() {
    if (async_context_ != nullptr) {
      napi_async_destroy(env_, async_context_);
      async_context_ = nullptr;
    }
  }

  void ScheduleError(int status) {
    pending_error_ = status;
    uv_timer_start(&state_->timer, OnTimer, 0, 0);
  }

  // Calls the JavaScript callback with (status, events). Uses the C API: no C++ exceptions on the loop.
  void Deliver(int status, int events) {
    napi_env env = env_;
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) return;
    Napi::Object self = Value();  // empty if the object is already collected
    if (!self.IsEmpty() && callback_ref_ != nullptr) {
      napi_value callback = nullptr;
      napi_valuetype type = napi_undefined;
      if (napi_get_reference_value(env, callback_ref_, &callback) == napi_ok && callback != nullptr &&
          napi_typeof(env, callback, &type) == napi_ok && type == napi_function) {
        napi_value argv[2];
        napi_create_int32(env, status, &argv[0]);
        napi_create_int32(env, events, &argv[1]);
        in_callback_ = true;
        napi_status s = napi_make_callback(env, async_context_, self, callback, 2, argv, nullptr);
        in_callback_ = false;
        if (closed_) {  // close() was called from the callback
          DestroyAsyncContext();
          DeleteCallbackRef();
        }
        if (s == napi_pending_exception) {
          napi_value error;
          if (napi_get_and_clear_last_exception(env, &error) == napi_ok) napi_fatal_exception(env, error);
        }
      }
    }
    napi_close_handle_scope(env, scope);
  }

  static void OnPoll(uv_poll_t* handle, int status, int events) {
    auto* state = static_cast<PollState*>(handle->data);
    if (state->owner == nullptr) return;
    // libuv reports errors as negative errno values on Unix.
    state->owner->Deliver(status, status < 0 ? 0 : ToPollEvents(events));
  }

  static void OnTimer(uv_timer_t* handle) {
    auto* state = static_cast<PollState*>(handle->data);
    Poller* owner = state->owner;
    if (owner == nullptr || owner->pending_error_ == 0) return;
    int status = owner->pending_error_;
    owner->pending_error_ = 0;
    owner->Deliver(status, 0);
  }

  static void OnClose(uv_handle_t* handle) {
    auto* state = static_cast<PollState*>(handle->data);
    if (--state->open_handles == 0) delete state;
  }

  napi_env env_;
  PollState* state_ = nullptr;
  int fd_ = -1;
  int uv_events_ = 0;
  int init_error_ = 0;
  int pending_error_ = 0;
  bool closed_ = false;
  bool in_callback_ = false;
  napi_async_context async_context_ = nullptr;
  napi_ref callback_ref_ = nullptr;
};

}  // namespace

void InitPoller(Napi::Env env, Napi::Object exports) {
  Napi::Object keys = Napi::Object::New(env);
  keys.Set(uint32_t{0}, Napi::Symbol::New(env, "bpfkit.Poller.callback"));
  env.SetInstanceData<AddonData>(new AddonData{Napi::Persistent(keys)});
  exports.Set("Poller", Poller::Define(env));
}

}  // namespace bpfkit
