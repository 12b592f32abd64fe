// Output files that are never left half-written, and that never replace an
// input.
//
// Outputs are written under a temporary name in the output's folder and
// renamed into place when complete. Every temporary name handed out is kept
// in a process-wide registry until it is committed or discarded, so that a
// signal handler (a second Ctrl-C) or the command boundary (an escaped
// exception) can remove whatever is still half-written.
//
// Thread-safety: every function may be called from any thread.
// remove_registered_temporaries() is also async-signal-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace sf {

// Checks that `path`'s folder exists and is writable, and that `path` is not
// a folder. Errors name the path: kNotFound (missing folder), kPermission.
Status check_output_path(const std::string& path);

// Refuses an output that would replace one of `inputs`: the same file by
// identity (device and inode, following symbolic links), so a hard link, a
// symbolic link, "./x" or "../dir/x" spellings are all caught. Error
// (kInvalidArgument) names the output and the input. An empty or not yet
// existing `output` is never an input; inputs that do not exist are skipped
// here (reading them reports them).
Status check_not_an_input(const std::string& output, const std::vector<std::string>& inputs);

// A name in the same folder as `path` to write to before renaming, e.g.
// "dir/.out.mp4.partial-<pid>-<n>". Same folder, so rename() is atomic. The
// name is registered (see above) until commit_file() or discard_temporary();
// at most 256 names are registered at once (more still work, but are not
// removed by remove_registered_temporaries()).
std::string temporary_name_for(const std::string& path);

// Writes `data` to a temporary name, flushes, renames onto `path`.
Status write_file_atomic(const std::string& path, std::string_view data);

// Renames `tmp` onto `path`; on failure removes `tmp`. Either way `tmp`
// leaves the registry.
Status commit_file(const std::string& tmp, const std::string& path);

// Removes the temporary file `tmp` (if it exists) and unregisters it.
void discard_temporary(const std::string& tmp);

// Unlinks every registered temporary file. Async-signal-safe (only atomics
// and unlink()); for the last moments of a process: the names stay
// registered, so a later commit_file() of them fails.
void remove_registered_temporaries() noexcept;

}  // namespace sf
