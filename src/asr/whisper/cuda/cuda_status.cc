#include "asr/whisper/cuda/cuda_status.h"

#include <string_view>

namespace sf::asr::whisper::cuda {
namespace {

std::string call_name(const char* call) {
  const std::string_view s(call);
  return std::string(s.substr(0, s.find('(')));
}

}  // namespace

Status cuda_status(cudaError_t e, const char* call) {
  if (e == cudaSuccess) return {};
  (void)cudaGetLastError();
  const std::string what = call_name(call) + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")";
  if (e == cudaErrorMemoryAllocation) return unavailable("out of GPU memory: " + what);
  return internal_error("CUDA error in " + what);
}

Status cublas_status(cublasStatus_t s, const char* call) {
  if (s == CUBLAS_STATUS_SUCCESS) return {};
  const std::string what = call_name(call) + ": " + cublasGetStatusName(s) + " (" + cublasGetStatusString(s) + ")";
  if (s == CUBLAS_STATUS_ALLOC_FAILED) return unavailable("out of GPU memory: " + what);
  return internal_error("cuBLAS error in " + what);
}

}  // namespace sf::asr::whisper::cuda
