# The Whisper engine against an independent numpy reference (label
# "whisper"): for each shape and weight type, one setup test writes a
# random-weight model (HF folder + ggml file), a WAV and the reference
# outputs into the build tree; two tests run `studioflow whisper-probe` on
# the HF folder and on the ggml file and compare mel, encoder output and
# logits (bounds in reference/compare.py).
set(SF_WHISPER_REF ${CMAKE_CURRENT_LIST_DIR}/reference)
set(SF_WHISPER_PY /usr/bin/python3)
execute_process(COMMAND ${SF_WHISPER_PY} -c "import numpy"
                RESULT_VARIABLE SF_WHISPER_NUMPY OUTPUT_QUIET ERROR_QUIET)
if(NOT SF_WHISPER_NUMPY EQUAL 0)
  message(WARNING "python3-numpy missing (scripts/install-deps.sh): whisper reference tests not registered")
  return()
endif()

foreach(size tiny base.en)
  foreach(dtype f32 f16)
    set(tag ${size}_${dtype})
    string(REPLACE "." "_" tag ${tag})
    set(dir ${CMAKE_BINARY_DIR}/whisper-ref/${tag})
    add_test(NAME whisper_ref_prepare_${tag}
             COMMAND ${SF_WHISPER_PY} ${SF_WHISPER_REF}/compare.py prepare
                     --size ${size} --dtype ${dtype} --dir ${dir})
    set_tests_properties(whisper_ref_prepare_${tag} PROPERTIES
      FIXTURES_SETUP whisper_ref_${tag} LABELS whisper TIMEOUT 300)
    foreach(format hf ggml)
      add_test(NAME whisper_ref_${tag}_${format}
               COMMAND ${SF_WHISPER_PY} ${SF_WHISPER_REF}/compare.py check
                       --dir ${dir} --format ${format}
                       --studioflow $<TARGET_FILE:studioflow>)
      set_tests_properties(whisper_ref_${tag}_${format} PROPERTIES
        FIXTURES_REQUIRED whisper_ref_${tag} LABELS whisper TIMEOUT 300)
    endforeach()
    # The CPU backend's low-precision compute types against the same
    # reference (on a CPU without AVX-512 BF16 / VNNI they fall back to f16,
    # which is within these bounds too).
    foreach(ct bf16 int8)
      add_test(NAME whisper_ref_${tag}_${ct}
               COMMAND ${SF_WHISPER_PY} ${SF_WHISPER_REF}/compare.py check
                       --dir ${dir} --format ggml --compute-type ${ct}
                       --studioflow $<TARGET_FILE:studioflow>)
      set_tests_properties(whisper_ref_${tag}_${ct} PROPERTIES
        FIXTURES_REQUIRED whisper_ref_${tag} LABELS whisper TIMEOUT 300)
    endforeach()
  endforeach()
endforeach()
