# The service's HTTP APIs against a real `studioflow serve` (its worker
# pool, its SQLite store), on the e2e talks.
set(SF_API_ENV "STUDIOFLOW=$<TARGET_FILE:studioflow>;SF_E2E_MEDIA=${CMAKE_BINARY_DIR}/e2e-media;STUDIOFLOW_LIBRARY=${CMAKE_BINARY_DIR}/e2e-library.db")
foreach(cls ResponseFormats Errors Concurrent)
  add_test(NAME api.OpenAi.${cls}
    COMMAND /usr/bin/python3 -m unittest -v openai_test.${cls}
    WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
  set_tests_properties(api.OpenAi.${cls} PROPERTIES ENVIRONMENT "${SF_API_ENV}" FIXTURES_REQUIRED e2e_media
    LABELS e2e TIMEOUT 600)
endforeach()
