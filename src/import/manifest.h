// The import manifest: what an import has made in a project folder, per
// source, keyed by the source's content fingerprint. It is what makes
// `studioflow import` idempotent and resumable: a product (normalized
// media, proxy, transcript) is redone only when the manifest does not
// record it for the source's current fingerprint with the same options, or
// when its file is gone or changed size.
//
// The manifest is one JSON file (<project>/studioflow-import.json),
// rewritten whole (temporary name, rename) after every product that
// completes, so a crash loses at most the products that were running.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace sf::import {

inline constexpr const char* kManifestName = "studioflow-import.json";

class Manifest {
 public:
  // Loads <project>/studioflow-import.json, or starts an empty manifest when
  // there is none. kCorrupt naming the file when it is not a manifest.
  static Result<Manifest> open(const std::string& project_dir);

  Manifest(Manifest&& other) noexcept;
  Manifest(const Manifest&) = delete;

  // The record of `source` (an absolute path): {fingerprint, size,
  // mtime_ns, duration, name, products: {...}}; null when none.
  nlohmann::json source(const std::string& source) const;

  // Records `source`'s identity. When the fingerprint differs from the one
  // recorded, the source's products are forgotten (a changed source is
  // redone). Saves.
  Status set_source(const std::string& source, const nlohmann::json& identity);

  // The record of one product of `source`, null when none.
  nlohmann::json product(const std::string& source, const std::string& name) const;
  // Records a completed product and saves.
  Status set_product(const std::string& source, const std::string& name, const nlohmann::json& record);

  const std::string& path() const { return path_; }

 private:
  Manifest() = default;
  Status save_locked();

  mutable std::mutex mu_;
  std::string path_;
  nlohmann::json doc_;
};

}  // namespace sf::import
