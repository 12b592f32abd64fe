# Tests that need a CUDA device carry the label `gpu` (they skip cleanly
# elsewhere). gtest_discover_tests only knows the names at build time, so
# the label is applied by a file CTest reads after the discovered list.
set(SF_GPU_LABELS_FILE ${CMAKE_CURRENT_BINARY_DIR}/gpu_labels.cmake)
file(WRITE ${SF_GPU_LABELS_FILE}
  "set_tests_properties(GpuDevice.CudaDevicesMatchNvml Sampler.LiveBaselineWhereThereIsAGpu PROPERTIES LABELS \"unit;gpu\")\n"
  # The Whisper CUDA backend against the CPU (tests/asr/whisper/cuda_session_test.cc).
  "set_tests_properties(WhisperCudaTest.MatchesCpuOnSmallShapes WhisperCudaTest.MatchesCpuOnTinyShapes "
  "WhisperCudaTest.GreedyTokensEqualCpuInF32 WhisperCudaTest.IncrementalDecodingAndCopyKv "
  "WhisperCudaTest.CrossAttentionMatchesCpu WhisperCudaTest.RejectsBadCallsAndNamesFallbacks "
  "PROPERTIES LABELS \"unit;gpu\" TIMEOUT 600)\n")
set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${SF_GPU_LABELS_FILE})
