#pragma once
// The one place where the runtime's exceptions become the public API's api::Error.

#include <exception>
#include <new>

#include "genrt/genrt.hpp"
#include "runtime/core/error.h"

namespace genrt::api {

// Runs `body`, turning the runtime's exceptions into api::Error of `kind`.
template <class F>
auto translate(Error::Kind kind, F&& body) {
  try {
    return body();
  } catch (const api::Error&) {
    throw;
  } catch (const genrt::Error& e) {
    throw Error(kind, e.what());
  } catch (const std::bad_alloc&) {
    throw Error(Error::Kind::out_of_memory, "out of host memory");
  } catch (const std::exception& e) {
    throw Error(Error::Kind::internal, e.what());
  }
}

}  // namespace genrt::api
