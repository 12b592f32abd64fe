# The web page in a real browser (Debian's chromium + playwright-core, see
# page_test.py); scripts/install-deps.sh installs both.
foreach(cls Page StopButtons)
  add_test(NAME web.${cls}
    COMMAND /usr/bin/python3 -m unittest -v page_test.${cls}
    WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
  set_tests_properties(web.${cls} PROPERTIES
    ENVIRONMENT "STUDIOFLOW=$<TARGET_FILE:studioflow>;SF_E2E_MEDIA=${CMAKE_BINARY_DIR}/e2e-media;SF_SCREENSHOT=${CMAKE_BINARY_DIR}/serve-page.png"
    FIXTURES_REQUIRED e2e_media LABELS e2e TIMEOUT 900)
endforeach()
