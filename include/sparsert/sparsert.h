// The one header a C++ user includes: Session, SessionOptions, Tensor, Status.
#pragma once

#include "base/status.h"
#include "graph/dtype.h"
#include "graph/tensor.h"
#include "runtime/session.h"
#include "runtime/session_options.h"

#define SPARSERT_VERSION_STRING "0.1.0"
