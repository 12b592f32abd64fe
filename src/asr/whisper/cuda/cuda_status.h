// CUDA runtime and cuBLAS error codes as Status: the one place in the
// plugin where they are translated (STYLE.md: C errors become Status at the
// boundary). Running out of device memory is kUnavailable ("out of GPU
// memory"), every other failure kInternal; both name the call.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <string>

#include "core/status.h"

namespace sf::asr::whisper::cuda {

// OK for cudaSuccess. `call` is the call's source text; its function name
// goes into the message. Clears the runtime's sticky last error.
Status cuda_status(cudaError_t e, const char* call);
Status cublas_status(cublasStatus_t s, const char* call);

}  // namespace sf::asr::whisper::cuda

#define SF_CUDA_RETURN_IF_ERROR(call) \
  SF_RETURN_IF_ERROR(::sf::asr::whisper::cuda::cuda_status((call), #call))
#define SF_CUBLAS_RETURN_IF_ERROR(call) \
  SF_RETURN_IF_ERROR(::sf::asr::whisper::cuda::cublas_status((call), #call))
