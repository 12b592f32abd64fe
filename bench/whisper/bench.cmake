# Whisper engine benchmark (see bench/whisper/run.sh and bench/RESULTS.md).
add_executable(studioflow_bench_whisper ${CMAKE_CURRENT_LIST_DIR}/whisper_bench.cc)
target_compile_options(studioflow_bench_whisper PRIVATE ${SF_WARNINGS})
target_link_libraries(studioflow_bench_whisper PRIVATE studioflow_lib)
# --device cuda loads the CUDA plugin, which resolves the program's symbols
# against this executable.
set_target_properties(studioflow_bench_whisper PROPERTIES ENABLE_EXPORTS ON)
