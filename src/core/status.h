// Status and Result<T>: expected failures as values.
//
// Every operation that can fail for reasons outside the program's control
// (bad media, a missing file, an encoder that does not open, a model file
// with the wrong shape) returns a Status or a Result<T>. Both are
// [[nodiscard]]. Propagate with SF_RETURN_IF_ERROR / SF_ASSIGN_OR_RETURN.
// Exceptions are used only at job boundaries (see DESIGN.md).
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace sf {

// Error categories. The CLI maps them to exit codes (cli/exit_codes.h).
enum class Code {
  kOk = 0,
  kInvalidArgument,  // the caller passed something unusable (flag, word list)
  kNotFound,         // an input file or model does not exist
  kPermission,       // cannot read an input
  kOutput,           // the output cannot be written (missing/unwritable folder)
  kBadMedia,         // the input is not media, or lacks a needed stream
  kUnsupported,      // a format/type we recognise but do not handle yet
  kCorrupt,          // truncated or inconsistent data (model files, media)
  kNoMatch,          // a search found nothing
  kUnavailable,      // a device, encoder or network is not available
  kCancelled,
  kInternal,
};

std::string_view code_name(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok_status() { return {}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // "message" for errors, "ok" for success.
  std::string to_string() const;

  // Returns a copy whose message is "context: message" (no-op when OK).
  Status with_context(std::string_view context) const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

inline Status invalid_argument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
inline Status not_found(std::string m) { return {Code::kNotFound, std::move(m)}; }
inline Status permission_denied(std::string m) { return {Code::kPermission, std::move(m)}; }
inline Status output_error(std::string m) { return {Code::kOutput, std::move(m)}; }
inline Status bad_media(std::string m) { return {Code::kBadMedia, std::move(m)}; }
inline Status unsupported(std::string m) { return {Code::kUnsupported, std::move(m)}; }
inline Status corrupt(std::string m) { return {Code::kCorrupt, std::move(m)}; }
inline Status unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
inline Status internal_error(std::string m) { return {Code::kInternal, std::move(m)}; }
inline Status cancelled(std::string m) { return {Code::kCancelled, std::move(m)}; }

// Holds either a T or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT: implicit by design
    assert(!std::get<Status>(v_).ok() && "Result constructed from an OK Status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  Status status() const { return ok() ? Status() : std::get<Status>(v_); }

  // REQUIRES: ok()
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace sf

#define SF_CONCAT_INNER(a, b) a##b
#define SF_CONCAT(a, b) SF_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function if `expr` is not OK.
#define SF_RETURN_IF_ERROR(expr)               \
  do {                                         \
    ::sf::Status sf_status_ = (expr);          \
    if (!sf_status_.ok()) return sf_status_;   \
  } while (0)

// `lhs = value of expr`, or returns its Status from the enclosing function.
#define SF_ASSIGN_OR_RETURN(lhs, expr) \
  SF_ASSIGN_OR_RETURN_IMPL(SF_CONCAT(sf_result_, __LINE__), lhs, expr)
#define SF_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = std::move(tmp).value()
