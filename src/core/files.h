// Output files that are never left half-written.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace sf {

// Checks that `path`'s folder exists and is writable, and that `path` is not
// a folder. Errors name the path: kNotFound (missing folder), kPermission.
Status check_output_path(const std::string& path);

// A name in the same folder as `path` to write to before renaming, e.g.
// "dir/.out.mp4.partial-<pid>-<n>". Same folder, so rename() is atomic.
std::string temporary_name_for(const std::string& path);

// Writes `data` to a temporary name, flushes, renames onto `path`.
Status write_file_atomic(const std::string& path, std::string_view data);

// Renames `tmp` onto `path`; on failure removes `tmp`.
Status commit_file(const std::string& tmp, const std::string& path);

}  // namespace sf
