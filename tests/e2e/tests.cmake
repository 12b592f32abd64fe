# End-to-end tests: the built binary on talks synthesized at test time.
# The tests' transcripts go into a library of the build tree, never the
# user's own.
set(SF_E2E_ENV "STUDIOFLOW=$<TARGET_FILE:studioflow>;SF_E2E_MEDIA=${CMAKE_BINARY_DIR}/e2e-media;STUDIOFLOW_LIBRARY=${CMAKE_BINARY_DIR}/e2e-library.db")
add_test(NAME e2e.media_setup
  COMMAND /usr/bin/python3 -c "import e2e_lib; [e2e_lib.talk(n) for n in e2e_lib.TALKS]"
  WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
set_tests_properties(e2e.media_setup PROPERTIES ENVIRONMENT "${SF_E2E_ENV}" FIXTURES_SETUP e2e_media LABELS e2e)
foreach(cls SupercutAcrossInputs OptionsAndDryRun BadInput Interrupt WhisperEngine Transcribe)
  add_test(NAME e2e.${cls}
    COMMAND /usr/bin/python3 -m unittest -v supercut_test.${cls}
    WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
  set_tests_properties(e2e.${cls} PROPERTIES ENVIRONMENT "${SF_E2E_ENV}" FIXTURES_REQUIRED e2e_media
    LABELS e2e TIMEOUT 600)
endforeach()
foreach(cls NonUtf8Names OutputIsInput SameBaseName SecondSignal)
  add_test(NAME e2e.${cls}
    COMMAND /usr/bin/python3 -m unittest -v safety_test.${cls}
    WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
  set_tests_properties(e2e.${cls} PROPERTIES ENVIRONMENT "${SF_E2E_ENV}" FIXTURES_REQUIRED e2e_media
    LABELS e2e TIMEOUT 600)
endforeach()
foreach(cls Cache BadLibrary SearchAndCut)
  add_test(NAME e2e.Library${cls}
    COMMAND /usr/bin/python3 -m unittest -v library_test.${cls}
    WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
  set_tests_properties(e2e.Library${cls} PROPERTIES ENVIRONMENT "${SF_E2E_ENV}" FIXTURES_REQUIRED e2e_media
    LABELS e2e TIMEOUT 600)
endforeach()
foreach(cls UrlInputs HlsAndPlaylists DroppingServer SlowServer BytesRead RefusedAndMissing Pages)
  add_test(NAME e2e.Url.${cls}
    COMMAND /usr/bin/python3 -m unittest -v url_test.${cls}
    WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
  set_tests_properties(e2e.Url.${cls} PROPERTIES ENVIRONMENT "${SF_E2E_ENV}" FIXTURES_REQUIRED e2e_media
    LABELS e2e TIMEOUT 600)
endforeach()
foreach(cls HelpEnv GpuPlan Profiling)
  add_test(NAME e2e.Env.${cls}
    COMMAND /usr/bin/python3 -m unittest -v env_test.${cls}
    WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
  set_tests_properties(e2e.Env.${cls} PROPERTIES ENVIRONMENT "${SF_E2E_ENV}" FIXTURES_REQUIRED e2e_media
    LABELS e2e TIMEOUT 600)
endforeach()

# The torture set (torture_media.py): real-world footage made once per build
# tree; TortureMedia checks the files are what their cases claim.
add_test(NAME e2e.torture_setup
  COMMAND /usr/bin/python3 torture_media.py
  WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
set_tests_properties(e2e.torture_setup PROPERTIES ENVIRONMENT "${SF_E2E_ENV}" FIXTURES_SETUP torture_media
  LABELS "e2e;torture" TIMEOUT 600)
foreach(cls Media Rotated TransportStreamClock AudioHole VariableFrameRate Surround FormatChange Hevc10 Odd444
            MjpegMulaw Mp3Cover Latin1Name LongSilence)
  add_test(NAME e2e.Torture${cls}
    COMMAND /usr/bin/python3 -m unittest -v torture_test.Torture${cls}
    WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
  set_tests_properties(e2e.Torture${cls} PROPERTIES ENVIRONMENT "${SF_E2E_ENV}" FIXTURES_REQUIRED torture_media
    LABELS "e2e;torture" TIMEOUT 600)
endforeach()
foreach(cls Contract BadRequests Concurrency CancelAndRestart)
  add_test(NAME e2e.Serve.${cls}
    COMMAND /usr/bin/python3 -m unittest -v serve_test.${cls}
    WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
  set_tests_properties(e2e.Serve.${cls} PROPERTIES ENVIRONMENT "${SF_E2E_ENV}" FIXTURES_REQUIRED e2e_media
    LABELS e2e TIMEOUT 600)
endforeach()
foreach(cls Loudness LoudTarget Resume Errors Timecode ProxyCodecs Watch Service)
  add_test(NAME e2e.Import${cls}
    COMMAND /usr/bin/python3 -m unittest -v import_test.${cls}
    WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
  set_tests_properties(e2e.Import${cls} PROPERTIES ENVIRONMENT "${SF_E2E_ENV}" LABELS e2e TIMEOUT 600)
endforeach()
foreach(cls ExportsOfASupercut ExportErrors SourceTimecode ServiceExports)
  add_test(NAME e2e.Export.${cls}
    COMMAND /usr/bin/python3 -m unittest -v export_test.${cls}
    WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
  set_tests_properties(e2e.Export.${cls} PROPERTIES ENVIRONMENT "${SF_E2E_ENV}" FIXTURES_REQUIRED e2e_media
    LABELS e2e TIMEOUT 600)
endforeach()
add_test(NAME e2e.TargetedSearch
  COMMAND /usr/bin/python3 -m unittest -v targeted_test.TargetedSearch
  WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
set_tests_properties(e2e.TargetedSearch PROPERTIES ENVIRONMENT "${SF_E2E_ENV}" LABELS e2e TIMEOUT 600)
add_test(NAME e2e.LibraryTargeted
  COMMAND /usr/bin/python3 -m unittest -v targeted_test.LibraryTargeted
  WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
set_tests_properties(e2e.LibraryTargeted PROPERTIES ENVIRONMENT "${SF_E2E_ENV}" LABELS e2e TIMEOUT 600)
